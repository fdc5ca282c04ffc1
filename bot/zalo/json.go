package zalo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// flexString is a JSON string or number kept as its text: Zalo's ids exceed 2^53 and must never go
// through a float, and its timestamps and expires_in come as strings in some answers and numbers in
// others.
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*s = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %.20s", b)
	}
	*s = flexString(n)
	return nil
}

// flexInt is a JSON integer, also when it comes as a string.
type flexInt int

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	var s flexString
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*n = 0
		return nil
	}
	v, err := strconv.Atoi(string(s))
	if err != nil {
		return fmt.Errorf("want an integer, got %q", string(s))
	}
	*n = flexInt(v)
	return nil
}
