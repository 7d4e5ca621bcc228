CREATE TABLE `upstreams` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`algorithm` text NOT NULL,
	`hash_on` text NOT NULL,
	`hash_fallback` text NOT NULL,
	`hash_on_header` text,
	`hash_fallback_header` text,
	`hash_on_cookie` text,
	`hash_on_cookie_path` text NOT NULL,
	`hash_on_query_arg` text,
	`hash_fallback_query_arg` text,
	`hash_on_uri_capture` text,
	`hash_fallback_uri_capture` text,
	`slots` integer NOT NULL,
	`healthchecks` text NOT NULL,
	`host_header` text,
	`client_certificate` text,
	`use_srv_name` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `upstreams_name_unique` ON `upstreams` (`name`);--> statement-breakpoint
CREATE TABLE `targets` (
	`id` text PRIMARY KEY NOT NULL,
	`upstream_id` text NOT NULL,
	`target` text NOT NULL,
	`weight` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`upstream_id`) REFERENCES `upstreams`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `targets_upstream_idx` ON `targets` (`upstream_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `targets_upstream_target_idx` ON `targets` (`upstream_id`,`target`);