package telegramtest

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// embeddedSpec is a copy of data/telegram-bot-api-10.1-subset.json, kept inside the package so the
// emulator needs no path outside the repository, with the official description of getFile and
// its File type added (the subset lacked them; a school's list sent as a document needs them).
//
//go:embed botapi.json
var embeddedSpec []byte

// apiSpec is the part of the official Bot API description the emulator holds calls against.
type apiSpec struct {
	methods map[string]*methodSpec // by lower-case name: Telegram method names are case-insensitive
	types   map[string]*typeSpec
	// variants lists the concrete types of an abstract type such as BotCommandScope.
	variants map[string][]string
}

type fieldSpec struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
}

type methodSpec struct {
	Name   string      `json:"name"`
	Fields []fieldSpec `json:"fields"`
	byName map[string]*fieldSpec
}

type typeSpec struct {
	Name   string      `json:"name"`
	Fields []fieldSpec `json:"fields"`
	byName map[string]*fieldSpec
}

// loadSpec parses a description in the format of botapi.json.
func loadSpec(raw []byte) (*apiSpec, error) {
	var doc struct {
		Methods map[string]*methodSpec `json:"methods"`
		Types   map[string]*typeSpec   `json:"types"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("telegramtest: parse Bot API description: %w", err)
	}
	if len(doc.Methods) == 0 {
		return nil, fmt.Errorf("telegramtest: Bot API description has no methods")
	}
	s := &apiSpec{
		methods:  make(map[string]*methodSpec, len(doc.Methods)),
		types:    make(map[string]*typeSpec, len(doc.Types)),
		variants: map[string][]string{},
	}
	for name, m := range doc.Methods {
		if m.Name == "" {
			m.Name = name
		}
		m.byName = map[string]*fieldSpec{}
		for i := range m.Fields {
			m.byName[m.Fields[i].Name] = &m.Fields[i]
		}
		s.methods[strings.ToLower(m.Name)] = m
	}
	for name, t := range doc.Types {
		if t.Name == "" {
			t.Name = name
		}
		t.byName = map[string]*fieldSpec{}
		for i := range t.Fields {
			t.byName[t.Fields[i].Name] = &t.Fields[i]
		}
		s.types[t.Name] = t
	}
	// An abstract type (no fields) whose name prefixes concrete types with a "type" field is a
	// union discriminated by that field, as BotCommandScope is.
	for name, t := range s.types {
		if len(t.Fields) != 0 {
			continue
		}
		for other, ot := range s.types {
			if other != name && strings.HasPrefix(other, name) && ot.byName["type"] != nil {
				s.variants[name] = append(s.variants[name], other)
			}
		}
	}
	return s, nil
}

// method returns the description of a method, matching its name case-insensitively.
func (s *apiSpec) method(name string) *methodSpec {
	return s.methods[strings.ToLower(name)]
}

// callParams are the parameters of one Bot API call, whatever encoding they came in.
type callParams struct {
	values map[string]string // JSON-typed values arrive as their JSON text, as in a form
	files  map[string]*uploadedFile
}

// uploadedFile is a file part of a multipart request.
type uploadedFile struct {
	Name        string
	ContentType string
	Data        []byte
}

// validate holds a call against its description: required parameters present, values of the
// declared types. It reports parameters the description does not know through unknown and leaves
// them alone, as Telegram does.
func (s *apiSpec) validate(m *methodSpec, p *callParams, unknown func(string)) *apiError {
	for name := range p.values {
		if m.byName[name] == nil {
			unknown(name)
		}
	}
	for name := range p.files {
		if m.byName[name] == nil {
			unknown(name)
		}
	}
	for _, f := range m.Fields {
		file, isFile := p.files[f.Name]
		v, present := p.values[f.Name]
		if !isFile && (!present || (v == "" && !emptyAllowed(m.Name, f.Name))) {
			if f.Required {
				return badRequest(missingMessage(m.Name, f.Name))
			}
			continue
		}
		if err := s.checkParam(f, v, file != nil, unknown); err != nil {
			return err
		}
	}
	return nil
}

// emptyAllowed lists the parameters for which an empty value means something: an empty url
// removes the webhook.
func emptyAllowed(method, field string) bool {
	return method == "setWebhook" && field == "url"
}

// missingMessage words a missing required parameter the way Telegram does.
func missingMessage(method, field string) string {
	switch {
	case field == "text" && (method == "sendMessage" || method == "editMessageText"):
		return "message text is empty"
	case field == "photo" || field == "document" || field == "sticker":
		return "there is no " + field + " in the request"
	}
	return field + " is empty"
}

// checkParam checks one top-level parameter, which is a string in a form and JSON text for arrays
// and objects.
func (s *apiSpec) checkParam(f fieldSpec, v string, isFile bool, unknown func(string)) *apiError {
	if isFile {
		for _, t := range f.Types {
			if t == "InputFile" {
				return nil
			}
		}
		return badRequest(fmt.Sprintf("field %q can't be a file", f.Name))
	}
	var complexTypes []string
	for _, t := range f.Types {
		switch t {
		case "String":
			return nil
		case "Integer":
			if _, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return nil
			}
		case "Float", "Float number":
			if _, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				return nil
			}
		case "Boolean":
			if _, ok := parseBool(v); ok {
				return nil
			}
		case "InputFile":
		default:
			complexTypes = append(complexTypes, t)
		}
	}
	if len(complexTypes) == 0 {
		return badRequest(fmt.Sprintf("field %q must be of type %s", f.Name, strings.Join(f.Types, " or ")))
	}
	raw := json.RawMessage(v)
	if !json.Valid(raw) {
		return badRequest(fmt.Sprintf("can't parse %s JSON object", f.Name))
	}
	if err := s.checkAny(complexTypes, raw, unknown); err != nil {
		return badRequest(fmt.Sprintf("can't parse %s: %s", f.Name, err.Error()))
	}
	return nil
}

// parseBool reads a Boolean the way Telegram's form parser does.
func parseBool(v string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1":
		return true, true
	case "false", "0", "":
		return false, true
	}
	return false, false
}

// checkAny checks a JSON value against alternatives such as the four kinds of reply_markup: the
// first object type whose required fields are all present is the one meant.
func (s *apiSpec) checkAny(types []string, raw json.RawMessage, unknown func(string)) error {
	if len(types) == 1 {
		return s.checkJSON(types[0], raw, unknown)
	}
	var firstErr error
	for _, t := range types {
		if ts := s.types[t]; ts != nil && len(ts.Fields) > 0 {
			var obj map[string]json.RawMessage
			if json.Unmarshal(raw, &obj) != nil || !hasRequired(ts, obj) {
				continue
			}
			return s.checkJSON(t, raw, unknown)
		}
		err := s.checkJSON(t, raw, unknown)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return fmt.Errorf("object matches none of %s", strings.Join(types, ", "))
}

func hasRequired(ts *typeSpec, obj map[string]json.RawMessage) bool {
	for _, f := range ts.Fields {
		if _, ok := obj[f.Name]; f.Required && !ok {
			return false
		}
	}
	return true
}

// checkJSON checks a JSON value against a type expression such as "Array of Array of
// InlineKeyboardButton".
func (s *apiSpec) checkJSON(typ string, raw json.RawMessage, unknown func(string)) error {
	raw = bytes.TrimSpace(raw)
	if elem, ok := strings.CutPrefix(typ, "Array of "); ok {
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return fmt.Errorf("expected an Array of %s", elem)
		}
		for _, it := range items {
			if err := s.checkJSON(elem, it, unknown); err != nil {
				return err
			}
		}
		return nil
	}
	kind := jsonKind(raw)
	switch typ {
	case "String", "InputFile":
		if kind != 's' {
			return fmt.Errorf("expected a String")
		}
		return nil
	case "Integer":
		var n int64
		if kind != 'n' || json.Unmarshal(raw, &n) != nil {
			return fmt.Errorf("expected an Integer")
		}
		return nil
	case "Float", "Float number":
		if kind != 'n' {
			return fmt.Errorf("expected a Float")
		}
		return nil
	case "Boolean":
		if kind != 'b' {
			return fmt.Errorf("expected a Boolean")
		}
		return nil
	}
	ts := s.types[typ]
	if ts == nil {
		return nil // a type the description leaves out: nothing to hold it against
	}
	if typ == "KeyboardButton" && kind == 's' {
		return nil // Telegram accepts a bare string as a text button
	}
	if kind != 'o' {
		return fmt.Errorf("%s must be an Object", typ)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s must be an Object", typ)
	}
	if variants := s.variants[typ]; len(variants) > 0 {
		var kindName string
		_ = json.Unmarshal(obj["type"], &kindName)
		for _, v := range variants {
			if snakeCase(strings.TrimPrefix(v, typ)) == kindName {
				return s.checkJSON(v, raw, unknown)
			}
		}
		return fmt.Errorf("unsupported %s type %q", typ, kindName)
	}
	for _, f := range ts.Fields {
		v, ok := obj[f.Name]
		if !ok {
			if f.Required {
				return fmt.Errorf("%s: field %q is required", typ, f.Name)
			}
			continue
		}
		if err := s.checkAny(f.Types, v, unknown); err != nil {
			return fmt.Errorf("%s: field %q: %w", typ, f.Name, err)
		}
	}
	for name := range obj {
		if ts.byName[name] == nil {
			unknown(typ + "." + name)
		}
	}
	return nil
}

// jsonKind tells apart JSON strings, numbers, booleans, objects, arrays and null by first byte.
func jsonKind(raw json.RawMessage) byte {
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '"':
		return 's'
	case c == '{':
		return 'o'
	case c == '[':
		return 'a'
	case c == 't' || c == 'f':
		return 'b'
	case c == 'n':
		return 0
	default:
		return 'n'
	}
}

// snakeCase turns "AllPrivateChats" into "all_private_chats".
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}
