CREATE TABLE `rate_limiting_counters` (
	`scope` text NOT NULL,
	`identifier` text NOT NULL,
	`period` text NOT NULL,
	`period_start` integer NOT NULL,
	`value` integer NOT NULL,
	`expires_at` integer NOT NULL,
	PRIMARY KEY(`scope`, `identifier`, `period`, `period_start`)
);
--> statement-breakpoint
CREATE INDEX `rate_limiting_counters_expires_at_idx` ON `rate_limiting_counters` (`expires_at`);