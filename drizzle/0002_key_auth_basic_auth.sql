CREATE TABLE `keyauth_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`consumer_id` text NOT NULL,
	`key_digest` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`consumer_id`) REFERENCES `consumers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `keyauth_credentials_key_digest_unique` ON `keyauth_credentials` (`key_digest`);--> statement-breakpoint
CREATE INDEX `keyauth_credentials_consumer_idx` ON `keyauth_credentials` (`consumer_id`);--> statement-breakpoint
CREATE TABLE `basicauth_credentials` (
	`id` text PRIMARY KEY NOT NULL,
	`consumer_id` text NOT NULL,
	`username` text NOT NULL,
	`password_hash` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`consumer_id`) REFERENCES `consumers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `basicauth_credentials_username_unique` ON `basicauth_credentials` (`username`);--> statement-breakpoint
CREATE INDEX `basicauth_credentials_consumer_idx` ON `basicauth_credentials` (`consumer_id`);