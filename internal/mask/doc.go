// Package mask replaces the variable parts of a log line (timestamps, IP
// addresses, ids, numbers, ...) with mask tokens such as <IP> or <NUM>, so that
// template mining and the deep-learning model see the constant shape of a line.
//
// The built-in rules are hand-written byte scanners rather than regular
// expressions: masking runs on every line lognats sees, and a single pass over
// the bytes is many times faster than a dozen regexp passes.
//
// # Order
//
// Masking is one left-to-right pass. ANSI escape sequences are dropped
// wherever they occur. At every token start (the line start, or a byte after
// one that is not a letter or digit) the rules are tried in this fixed order
// and the first that matches wins:
//
//  1. user rules (Config.Rules), in the order given
//  2. <TS>       RFC 3339 / ISO 8601 date-times and dates, klog headers
//     (I1203 12:00:00.123456), syslog (Jan  2 15:04:05), 2006/01/02 and
//     02/01/06 dates, clock times (15:04:05.000)
//  3. <URL>      scheme://...
//  4. <EMAIL>    local@domain.tld
//  5. <UUID>     8-4-4-4-12 hex digits
//  6. <IP>       IPv4 with optional /CIDR and :port, IPv6 (also [v6]:port)
//  7. <HEX>      0x-prefixed hex, or 8+ hex digits mixing letters and digits
//  8. <DURATION> 1.5s, 300ms, 1h2m3s (units ns us µs ms s m h d)
//  9. <LOC>      source references like server.go:123
//  10. <PATH>    /a/b, ./a, ../a, ~/a, C:\a (must contain a letter)
//  11. <NUM>     integers and decimals, with sign and dotted versions (1.2.3)
//  12. <ID>      any other token (letters, digits, _ . -) that holds a digit
//
// Text already shaped like a mask (<NAME> with upper-case letters, digits,
// '_' or '*') is copied unchanged, so masking is idempotent.
//
// # Concurrency
//
// A Masker is immutable after New and safe for use by many goroutines at
// once; Mask appends to the caller's buffer and keeps no state between calls.
package mask
