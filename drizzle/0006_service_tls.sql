CREATE TABLE `ca_certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`cert` text NOT NULL,
	`cert_digest` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ca_certificates_cert_digest_unique` ON `ca_certificates` (`cert_digest`);--> statement-breakpoint
ALTER TABLE `services` ADD `tls_verify` integer;--> statement-breakpoint
ALTER TABLE `services` ADD `tls_verify_depth` integer;--> statement-breakpoint
ALTER TABLE `services` ADD `ca_certificates` text;--> statement-breakpoint
ALTER TABLE `services` ADD `client_certificate_id` text REFERENCES certificates(id);