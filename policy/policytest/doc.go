// Package policytest runs table cases against a policy, like `opa test`:
// each case is an input call and the decision expected for it (action,
// would-be action, rule, mode, score band, factor values, visibility).
// It backs `portcullis policy test` and the Go test over
// examples/policies. Cases are decoded strictly; a case never panics the
// runner.
package policytest
