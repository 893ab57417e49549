// Package sink owns delivery of committed audit records to external systems.
// Exporter (an audit.Sink) spools every record to disk first, then delivers
// batches through a service-specific Transport (sub-packages webhook, splunk,
// sentinel, otlp) within that service's documented batch limits, retrying
// retryable failures with exponential backoff.
//
// Invariants: WriteRecord never touches the network; a batch file is removed
// from the spool only after the service acknowledged every batch in it, so an
// outage or a restart loses nothing (delivery is at-least-once: a crash after
// a send but before its progress mark is written resends that batch).
// Non-retryable rejections (4xx other than 408/429) move the file to
// dead-*.jsonl and are counted, never silently discarded. The spool is
// bounded by Options.MaxSpoolBytes: while a service is down past that, new
// events are dropped and counted (OnDropped) instead of filling the disk;
// the audit log keeps every record either way. Delivered batches are
// reported through OnDelivered, failed attempts through OnError.
package sink
