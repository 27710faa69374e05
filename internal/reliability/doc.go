// Package reliability holds bantin's fault tests: a three-node JetStream
// cluster losing its stream leader, worker processes killed mid-batch and
// mid-LLM call, SIGTERM drains, poison messages and leaking secrets. Each
// test asserts exact counts (reports in = digests out, duplicates = 0) and
// logs its figures; RELIABILITY.md at the repository root collects them.
//
// Set BANTIN_RELIABILITY_FIGURES to a file to have each test append its
// figures there as JSON lines.
package reliability
