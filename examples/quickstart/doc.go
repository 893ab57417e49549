// Package quickstart holds the quickstart configuration (portcullis.yaml) and
// the `make run` script (run.sh). Its test pins the config to the config
// contract so that a change to config/ cannot silently break `make run`.
package quickstart
