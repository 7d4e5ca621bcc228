CREATE TABLE `acls` (
	`id` text PRIMARY KEY NOT NULL,
	`consumer_id` text NOT NULL,
	`group` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`consumer_id`) REFERENCES `consumers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `acls_consumer_group_idx` ON `acls` (`consumer_id`,`group`);--> statement-breakpoint
CREATE TABLE `consumers` (
	`id` text PRIMARY KEY NOT NULL,
	`username` text,
	`custom_id` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `consumers_username_unique` ON `consumers` (`username`);--> statement-breakpoint
CREATE UNIQUE INDEX `consumers_custom_id_unique` ON `consumers` (`custom_id`);--> statement-breakpoint
CREATE TABLE `jwt_secrets` (
	`id` text PRIMARY KEY NOT NULL,
	`consumer_id` text NOT NULL,
	`key` text NOT NULL,
	`algorithm` text NOT NULL,
	`secret` text,
	`rsa_public_key` text,
	`jwks_uri` text,
	`jwks_cache_ttl` integer NOT NULL,
	`algorithms` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`consumer_id`) REFERENCES `consumers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `jwt_secrets_key_unique` ON `jwt_secrets` (`key`);--> statement-breakpoint
CREATE INDEX `jwt_secrets_consumer_idx` ON `jwt_secrets` (`consumer_id`);--> statement-breakpoint
CREATE TABLE `keys` (
	`id` text PRIMARY KEY NOT NULL,
	`kid` text NOT NULL,
	`alg` text NOT NULL,
	`status` text NOT NULL,
	`public_jwk` text NOT NULL,
	`private_jwk` text,
	`retire_after` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `keys_kid_unique` ON `keys` (`kid`);--> statement-breakpoint
CREATE TABLE `plugins` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`config` text NOT NULL,
	`enabled` integer NOT NULL,
	`service_id` text,
	`route_id` text,
	`consumer_id` text,
	`scope_key` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`route_id`) REFERENCES `routes`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`consumer_id`) REFERENCES `consumers`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `plugins_scope_key_unique` ON `plugins` (`scope_key`);--> statement-breakpoint
CREATE TABLE `routes` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`service_id` text,
	`paths` text,
	`hosts` text,
	`methods` text,
	`strip_path` integer NOT NULL,
	`preserve_host` integer NOT NULL,
	`regex_priority` integer NOT NULL,
	`protocols` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL,
	FOREIGN KEY (`service_id`) REFERENCES `services`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `routes_name_unique` ON `routes` (`name`);--> statement-breakpoint
CREATE INDEX `routes_service_idx` ON `routes` (`service_id`);--> statement-breakpoint
CREATE TABLE `services` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text,
	`protocol` text NOT NULL,
	`host` text NOT NULL,
	`port` integer NOT NULL,
	`path` text,
	`connect_timeout` integer NOT NULL,
	`read_timeout` integer NOT NULL,
	`write_timeout` integer NOT NULL,
	`retries` integer NOT NULL,
	`enabled` integer NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	`tags` text DEFAULT '[]' NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `services_name_unique` ON `services` (`name`);