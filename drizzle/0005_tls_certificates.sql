CREATE TABLE `certificates` (
	`id` text PRIMARY KEY NOT NULL,
	`cert` text NOT NULL,
	`key` text NOT NULL,
	`cert_alt` text,
	`key_alt` text,
	`snis` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `snis` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`certificate_id` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`certificate_id`) REFERENCES `certificates`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `snis_name_unique` ON `snis` (`name`);--> statement-breakpoint
CREATE INDEX `snis_certificate_idx` ON `snis` (`certificate_id`);--> statement-breakpoint
ALTER TABLE `routes` ADD `https_redirect_status_code` integer DEFAULT 426 NOT NULL;