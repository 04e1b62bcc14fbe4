// The longest line (in bytes, without its '\n') any reader hands on. A kernel LOG line is
// under ~1 KiB and rsyslog's default maxMessageSize is 8 KiB; a longer line is never a
// knock, and a reader that cut it would turn its remainder into a new line that a
// `logger` user controls from its first byte. Every reader drops such a line whole.
export const MAX_LINE_BYTES = 8192;
