package mask

// The scanners below each look at s, which starts at a token start, and
// return how many bytes the rule matches (0 for no match). They never read
// past len(s), so any byte string is safe input.

// Byte classes, looked up in one table: the scanners test classes on every
// byte, and a table load is cheaper than chains of comparisons.
const (
	cDigit uint8 = 1 << iota
	cAlpha
	cHexLetter
	cUnderscore
	cFileExtra // . and -
	cPathExtra // / ~ + @ % \
)

var classes = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-32] = cAlpha, cAlpha
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] |= cHexLetter
		t[c-32] |= cHexLetter
	}
	t['_'] = cUnderscore
	t['.'], t['-'] = cFileExtra, cFileExtra
	for _, c := range "/~+@%\\" {
		t[c] = cPathExtra
	}
	return t
}()

func isDigit(c byte) bool     { return classes[c]&cDigit != 0 }
func isAlpha(c byte) bool     { return classes[c]&cAlpha != 0 }
func isAlnum(c byte) bool     { return classes[c]&(cDigit|cAlpha) != 0 }
func isHexLetter(c byte) bool { return classes[c]&cHexLetter != 0 }
func isHex(c byte) bool       { return classes[c]&(cDigit|cHexLetter) != 0 }
func isWord(c byte) bool      { return classes[c]&(cDigit|cAlpha|cUnderscore) != 0 }
func isFileByte(c byte) bool  { return classes[c]&(cDigit|cAlpha|cUnderscore|cFileExtra) != 0 }
func isPathByte(c byte) bool  { return classes[c] != 0 }

// endOK reports whether a match of length k ends at a token boundary.
func endOK(s []byte, k int) bool { return k >= len(s) || !isWord(s[k]) }

// digits returns the length of the run of ASCII digits at s[i:], capped at max
// (max <= 0 means no cap).
func digits(s []byte, i, max int) int {
	j := i
	for j < len(s) && isDigit(s[j]) && (max <= 0 || j-i < max) {
		j++
	}
	return j - i
}

// ansiLen returns the length of the escape sequence at s (s[0] == ESC).
func ansiLen(s []byte) int {
	if len(s) < 2 {
		return 1
	}
	switch s[1] {
	case '[': // CSI: parameters, intermediates, one final byte
		for j := 2; j < len(s); j++ {
			c := s[j]
			if c >= 0x40 && c <= 0x7e {
				return j + 1
			}
			if c < 0x20 || c > 0x3f {
				return 1 // malformed: drop only ESC
			}
		}
		return 1
	case ']': // OSC: ends with BEL or ESC \
		for j := 2; j < len(s); j++ {
			if s[j] == 0x07 {
				return j + 1
			}
			if s[j] == 0x1b && j+1 < len(s) && s[j+1] == '\\' {
				return j + 2
			}
		}
		return 1
	}
	if s[1] >= 0x40 && s[1] <= 0x5f {
		return 2
	}
	return 1
}

// maskLike matches text that already is a mask: <NAME>, <*>, <:NUM:>.
func maskLike(s []byte) int {
	for j := 1; j < len(s) && j < 40; j++ {
		c := s[j]
		switch {
		case c == '>':
			if j == 1 {
				return 0
			}
			return j + 1
		case (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_' || c == '*' || c == ':':
		default:
			return 0
		}
	}
	return 0
}

// clock matches hh:mm:ss with optional fraction (.123 or ,123).
func clock(s []byte, i int) int {
	h := digits(s, i, 2)
	if h == 0 {
		return 0
	}
	j := i + h
	for range 2 {
		if j >= len(s) || s[j] != ':' || digits(s, j+1, 2) != 2 {
			return 0
		}
		j += 3
	}
	if j+1 < len(s) && (s[j] == '.' || s[j] == ',') && isDigit(s[j+1]) {
		j += 1 + digits(s, j+1, 0)
	}
	return j - i
}

// zone matches Z, +hh:mm, -hhmm.
func zone(s []byte, i int) int {
	if i >= len(s) {
		return 0
	}
	if s[i] == 'Z' {
		return 1
	}
	if (s[i] == '+' || s[i] == '-') && digits(s, i+1, 2) == 2 {
		j := i + 3
		if j < len(s) && s[j] == ':' {
			if digits(s, j+1, 2) == 2 {
				return j + 3 - i
			}
			return 3
		}
		if digits(s, j, 2) == 2 {
			return 5
		}
		return 3
	}
	return 0
}

// scanTS matches timestamps that start with a digit.
func scanTS(s []byte) int {
	n := digits(s, 0, 0)
	if n == 4 && len(s) > 9 && (s[4] == '-' || s[4] == '/') && digits(s, 5, 2) == 2 && s[7] == s[4] && digits(s, 8, 2) == 2 {
		// 2006-01-02 or 2006/01/02, optional time and zone.
		j := 10
		if j+1 < len(s) && (s[j] == 'T' || s[j] == ' ' || s[j] == '-') {
			if k := clock(s, j+1); k > 0 {
				j += 1 + k
				j += zone(s, j)
			}
		}
		if endOK(s, j) {
			return j
		}
		return 0
	}
	if n == 2 && len(s) > 7 && (s[2] == '/' || s[2] == '-' || s[2] == '.') && digits(s, 3, 2) == 2 && s[5] == s[2] {
		// 02/01/06, 02-01-2006, 02.01.2006; optional time. Dotted dates
		// need a 4-digit year so that IPv4 addresses stay IPs.
		y := digits(s, 6, 4)
		if (y != 2 && y != 4) || (s[2] == '.' && y != 4) || (6+y < len(s) && s[6+y] == '.') {
			return 0
		}
		j := 6 + y
		if j+1 < len(s) && (s[j] == ' ' || s[j] == ':') {
			if k := clock(s, j+1); k > 0 {
				j += 1 + k
			}
		}
		if endOK(s, j) {
			return j
		}
		return 0
	}
	if n == 1 || n == 2 {
		if k := clock(s, 0); k > 0 {
			k += zone(s, k)
			if endOK(s, k) {
				return k
			}
		}
	}
	return 0
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var weekdays = [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func hasWord3(s []byte, i int, set []string) bool {
	if i+3 > len(s) {
		return false
	}
	for _, w := range set {
		if s[i] == w[0] && s[i+1] == w[1] && s[i+2] == w[2] {
			return true
		}
	}
	return false
}

// scanTSAlpha matches klog headers and syslog dates, which start with a letter.
func scanTSAlpha(s []byte) int {
	c := s[0]
	if (c == 'I' || c == 'W' || c == 'E' || c == 'F') && digits(s, 1, 0) == 4 && len(s) > 6 && s[5] == ' ' {
		if k := clock(s, 6); k > 0 && endOK(s, 6+k) {
			return 6 + k
		}
		return 0
	}
	i := 0
	if hasWord3(s, 0, weekdays[:]) && len(s) > 4 && s[3] == ' ' {
		i = 4
	}
	if !hasWord3(s, i, months[:]) || i+4 >= len(s) || s[i+3] != ' ' {
		return 0
	}
	j := i + 4
	if s[j] == ' ' {
		j++
	}
	d := digits(s, j, 2)
	if d == 0 || j+d >= len(s) || s[j+d] != ' ' {
		return 0
	}
	j += d + 1
	k := clock(s, j)
	if k == 0 {
		return 0
	}
	j += k
	if j+5 <= len(s) && s[j] == ' ' && digits(s, j+1, 4) == 4 {
		j += 5
	}
	if endOK(s, j) {
		return j
	}
	return 0
}

// scanURL matches scheme://rest up to white space or a quote.
func scanURL(s []byte) int {
	j := 0
	for j < len(s) && (isAlnum(s[j]) || s[j] == '+' || s[j] == '.' || s[j] == '-') {
		j++
	}
	if j == 0 || j > 32 || j+3 >= len(s) || s[j] != ':' || s[j+1] != '/' || s[j+2] != '/' {
		return 0
	}
	j += 3
	start := j
	for j < len(s) {
		c := s[j]
		if c <= ' ' || c == '"' || c == '\'' || c == '<' || c == '>' || c == 0x7f {
			break
		}
		j++
	}
	for j > start {
		c := s[j-1]
		if c == '.' || c == ',' || c == ';' || c == ':' || c == ')' || c == ']' || c == '}' {
			j--
			continue
		}
		break
	}
	if j == start {
		return 0
	}
	return j
}

func isEmailLocal(c byte) bool {
	return isAlnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-'
}

// scanEmail matches local@domain.tld.
func scanEmail(s []byte) int {
	j := 0
	for j < len(s) && j < 64 && isEmailLocal(s[j]) {
		j++
	}
	if j == 0 || j >= len(s) || s[j] != '@' {
		return 0
	}
	j++
	start, lastDot := j, -1
	for j < len(s) && (isAlnum(s[j]) || s[j] == '-' || s[j] == '.') {
		if s[j] == '.' {
			lastDot = j
		}
		j++
	}
	for j > start && s[j-1] == '.' {
		j--
	}
	if lastDot <= start || lastDot >= j-2 {
		return 0
	}
	for k := lastDot + 1; k < j; k++ {
		if !isAlpha(s[k]) {
			return 0
		}
	}
	return j
}

func hexRun(s []byte, i int) int {
	j := i
	for j < len(s) && isHex(s[j]) {
		j++
	}
	return j - i
}

// scanUUID matches 8-4-4-4-12 hex digits.
func scanUUID(s []byte) int {
	if len(s) < 36 {
		return 0
	}
	j := 0
	for g, want := range [...]int{8, 4, 4, 4, 12} {
		if g > 0 {
			if s[j] != '-' {
				return 0
			}
			j++
		}
		if hexRun(s, j) != want && !(g == 4 && hexRun(s, j) >= want) {
			return 0
		}
		j += want
	}
	if endOK(s, j) {
		return j
	}
	return 0
}

// octet matches a decimal 0..255 at s[i:].
func octet(s []byte, i int) int {
	n := digits(s, i, 3)
	if n == 0 {
		return 0
	}
	v := 0
	for k := i; k < i+n; k++ {
		v = v*10 + int(s[k]-'0')
	}
	if v > 255 {
		return 0
	}
	return n
}

// scanIPv4 matches a.b.c.d with optional /cidr and :port.
func scanIPv4(s []byte) int {
	j := 0
	for o := range 4 {
		if o > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0
			}
			j++
		}
		n := octet(s, j)
		if n == 0 {
			return 0
		}
		j += n
	}
	if j < len(s) && isDigit(s[j]) {
		return 0
	}
	if j+1 < len(s) && s[j] == '/' && isDigit(s[j+1]) {
		if n := digits(s, j+1, 2); n > 0 && (j+1+n >= len(s) || !isDigit(s[j+1+n])) {
			j += 1 + n
		}
	}
	if j+1 < len(s) && s[j] == ':' && isDigit(s[j+1]) {
		if n := digits(s, j+1, 5); n > 0 && (j+1+n >= len(s) || !isDigit(s[j+1+n])) {
			j += 1 + n
		}
	}
	if !endOK(s, j) || (j+1 < len(s) && s[j] == '.' && isDigit(s[j+1])) {
		return 0
	}
	return j
}

// scanIPv6 matches an IPv6 address: it must contain "::" or have all eight
// groups, so that clock times and MAC addresses are not taken for one.
func scanIPv6(s []byte) int {
	j, groups, double, colons := 0, 0, false, 0
	for j < len(s) {
		if s[j] == ':' {
			if j+1 < len(s) && s[j+1] == ':' {
				if double {
					return 0
				}
				double = true
				colons += 2
				j += 2
				continue
			}
			if groups == 0 || j+1 >= len(s) || !isHex(s[j+1]) {
				break
			}
			colons++
			j++
			continue
		}
		n := hexRun(s, j)
		if n == 0 || n > 4 {
			if n > 4 {
				return 0
			}
			break
		}
		// An embedded IPv4 tail (::ffff:1.2.3.4).
		if j+n < len(s) && s[j+n] == '.' && groups > 0 {
			if k := scanIPv4(s[j:]); k > 0 {
				return j + k
			}
			return 0
		}
		groups++
		j += n
		if j < len(s) && s[j] != ':' {
			break
		}
	}
	if j > 0 && s[j-1] == ':' && !(j >= 2 && s[j-2] == ':') {
		return 0
	}
	if groups == 0 || !(double || (groups == 8 && colons == 7)) {
		return 0
	}
	if j < len(s) && s[j] == '%' { // zone index
		j++
		for j < len(s) && isWord(s[j]) {
			j++
		}
	}
	if !endOK(s, j) {
		return 0
	}
	return j
}

// scanBracketIPv6 matches [v6] and [v6]:port.
func scanBracketIPv6(s []byte) int {
	k := scanIPv6(s[1:])
	if k == 0 || 1+k >= len(s) || s[1+k] != ']' {
		return 0
	}
	j := 2 + k
	if j+1 < len(s) && s[j] == ':' && isDigit(s[j+1]) {
		j += 1 + digits(s, j+1, 5)
	}
	return j
}

func scanIP(s []byte) int {
	if k := scanIPv4(s); k > 0 {
		return k
	}
	if h := hexRun(s, 0); h < len(s) && s[h] == ':' && h <= 4 {
		return scanIPv6(s)
	}
	return 0
}

// scanHex matches 0x-prefixed hex and long hex strings mixing digits and letters.
func scanHex(s []byte) int {
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		n := hexRun(s, 2)
		if n > 0 && endOK(s, 2+n) {
			return 2 + n
		}
		return 0
	}
	n := hexRun(s, 0)
	if n < 8 || !endOK(s, n) {
		return 0
	}
	var dig, let bool
	for _, c := range s[:n] {
		if isDigit(c) {
			dig = true
		} else {
			let = true
		}
	}
	if dig && let {
		return n
	}
	return 0
}

// durationUnit returns the length of a duration unit at s[i:].
func durationUnit(s []byte, i int) int {
	if i >= len(s) {
		return 0
	}
	if i+1 < len(s) && s[i+1] == 's' && (s[i] == 'n' || s[i] == 'u' || s[i] == 'm') {
		return 2
	}
	if i+2 < len(s) && s[i] == 0xc2 && s[i+1] == 0xb5 && s[i+2] == 's' {
		return 3
	}
	switch s[i] {
	case 'h', 'm', 's', 'd':
		return 1
	}
	return 0
}

// scanDuration matches Go-style durations: 1.5s, 300ms, 1h2m3s.
func scanDuration(s []byte) int {
	j, parts := 0, 0
	for j < len(s) && isDigit(s[j]) {
		j += digits(s, j, 0)
		if j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
			j += 1 + digits(s, j+1, 0)
		}
		u := durationUnit(s, j)
		if u == 0 {
			return 0
		}
		j += u
		parts++
	}
	if parts == 0 || !endOK(s, j) {
		return 0
	}
	return j
}

// scanLoc matches a source reference: name.ext:line (server.go:123).
func scanLoc(s []byte) int {
	j, dot := 0, -1
	for j < len(s) && j < 128 && (isFileByte(s[j]) || s[j] == '/') {
		if s[j] == '.' {
			dot = j
		}
		j++
	}
	if dot <= 0 || j-dot-1 < 1 || j-dot-1 > 5 || j+1 >= len(s) || s[j] != ':' || !isDigit(s[j+1]) {
		return 0
	}
	for k := dot + 1; k < j; k++ {
		if !isAlpha(s[k]) {
			return 0
		}
	}
	k := j + 1 + digits(s, j+1, 0)
	if !endOK(s, k) {
		return 0
	}
	return k
}

// scanPath matches /abs, ./rel, ../rel and ~/home paths holding a letter.
func scanPath(s []byte) int {
	var j int
	switch {
	case s[0] == '/':
		j = 1
	case len(s) > 1 && (s[0] == '.' || s[0] == '~') && s[1] == '/':
		j = 2
	case len(s) > 2 && s[0] == '.' && s[1] == '.' && s[2] == '/':
		j = 3
	default:
		return 0
	}
	if j >= len(s) || !(isWord(s[j]) || s[j] == '.' || s[j] == '~') {
		return 0
	}
	letter := false
	for j < len(s) && isPathByte(s[j]) {
		if isAlpha(s[j]) {
			letter = true
		}
		j++
	}
	for j > 1 && (s[j-1] == '.' || s[j-1] == '-') {
		j--
	}
	if !letter {
		return 0
	}
	return j
}

// scanWinPath matches C:\dir paths.
func scanWinPath(s []byte) int {
	if len(s) < 4 || s[1] != ':' || s[2] != '\\' || !isPathByte(s[3]) {
		return 0
	}
	j := 3
	for j < len(s) && isPathByte(s[j]) {
		j++
	}
	for s[j-1] == '.' || s[j-1] == '-' {
		j--
	}
	return j
}

// scanNum matches integers, decimals and dotted numbers (versions).
func scanNum(s []byte) int {
	j := digits(s, 0, 0)
	if j == 0 {
		return 0
	}
	for j+1 < len(s) && s[j] == '.' && isDigit(s[j+1]) {
		j += 1 + digits(s, j+1, 0)
	}
	if !endOK(s, j) {
		return 0
	}
	return j
}

// scanID matches a token of letters, digits, '_', '.', '-' holding a digit.
func scanID(s []byte) int {
	j, dig := 0, false
	for j < len(s) && isFileByte(s[j]) {
		if isDigit(s[j]) {
			dig = true
		}
		j++
	}
	for j > 0 && (s[j-1] == '.' || s[j-1] == '-' || s[j-1] == '_') {
		j--
	}
	if !dig || j == 0 {
		return 0
	}
	// The trimmed tail may have held the only digit: recheck.
	for _, c := range s[:j] {
		if isDigit(c) {
			return j
		}
	}
	return 0
}
