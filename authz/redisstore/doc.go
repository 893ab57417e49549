// Package redisstore implements authz.TokenStore on Redis, so every
// Portcullis replica finds the user-delegated grants and pending consents
// any replica stored.
//
// Each entry is one string key (prefix + the caller's keyed name) with a
// millisecond expiry; Take is GETDEL, so a consent is used at most once
// across replicas. Values arrive sealed (AES-GCM) and keys are keyed
// digests: Redis never holds a token, a principal or a server name in
// clear. Every operation touches one key (Cluster safe).
package redisstore
