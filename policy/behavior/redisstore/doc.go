// Package redisstore implements behavior.Store on Redis so several
// Portcullis processor replicas share one view of each agent and session.
//
// Every operation touches exactly one key and runs as one command or one Lua
// script, so it is atomic and Redis Cluster compatible. Counter vectors are
// hashes (fields "0", "1", …), bitsets are Redis bitmaps (bit i of the
// uint64 is bitmap offset i), sets are Redis sets bounded by a random
// eviction, blobs are strings. A ttl of 0 persists the key. Raw sensitive
// values never reach this store: the engine sends salted hashes.
package redisstore
