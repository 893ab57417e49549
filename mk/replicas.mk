# Shared state for several replicas (issue 15): vault set and vault
# eviction costs, behaviour-store round trips counted with a go-redis hook;
# short fuzzing runs of the shared vault and the sealer.
BENCH_TARGETS += bench-replicas
FUZZ_TARGETS += fuzz-replicas

.PHONY: bench-replicas fuzz-replicas
bench-replicas: ## vaults: new session with a full set, new surrogate in a full vault (O(1)); Redis round trips per call
	$(GO) test -run '^$$' -bench 'VaultsNewSessionFull|VaultFullInsert' -benchtime 2000x -count 1 ./detectors/redact/
	$(GO) test -run 'TestRoundTrips' -v -count 1 ./policy/behavior/redisstore/ | grep 'round trips'

fuzz-replicas: ## fuzz the shared vault round trip across replicas and the sealer (15s each)
	$(GO) test -run '^$$' -fuzz '^FuzzSharedVault$$' -fuzztime 15s ./detectors/redact/
	$(GO) test -run '^$$' -fuzz '^FuzzSealerOpen$$' -fuzztime 15s ./detectors/redact/
