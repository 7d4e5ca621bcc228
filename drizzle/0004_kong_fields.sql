ALTER TABLE `routes` ADD `headers` text;--> statement-breakpoint
ALTER TABLE `routes` ADD `path_handling` text DEFAULT 'v0' NOT NULL;--> statement-breakpoint
ALTER TABLE `routes` ADD `request_buffering` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `routes` ADD `response_buffering` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE `plugins` ADD `instance_name` text;--> statement-breakpoint
ALTER TABLE `plugins` ADD `protocols` text DEFAULT '["grpc","grpcs","http","https"]' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `plugins_instance_name_unique` ON `plugins` (`instance_name`);
