package telegramtest

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"sort"
	"strings"
)

// maxRequestBytes is Telegram's 50 MB upload limit for bots.
const maxRequestBytes = 50 << 20

// parseParams reads a call's parameters from the query string and a form, multipart or JSON body.
// Values of JSON bodies that are not strings keep their JSON text, the way they arrive in a form.
func parseParams(w http.ResponseWriter, r *http.Request) (*callParams, *apiError) {
	p := &callParams{values: map[string]string{}, files: map[string]*uploadedFile{}}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			p.values[k] = vs[0]
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	mediaType, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mediaType {
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil && !errors.Is(err, io.EOF) {
			return nil, badRequest("can't parse JSON encoded request: " + err.Error())
		}
		for k, raw := range obj {
			var str string
			switch {
			case json.Unmarshal(raw, &str) == nil:
				p.values[k] = str
			case string(raw) == "null":
			default:
				p.values[k] = string(raw)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return nil, badRequest("can't parse multipart request: " + err.Error())
		}
		for k, vs := range r.MultipartForm.Value {
			if len(vs) > 0 {
				p.values[k] = vs[0]
			}
		}
		for k, fhs := range r.MultipartForm.File {
			if len(fhs) == 0 {
				continue
			}
			f, err := fhs[0].Open()
			if err != nil {
				return nil, badRequest("can't read file " + k)
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return nil, badRequest("can't read file " + k)
			}
			p.files[k] = &uploadedFile{Name: fhs[0].Filename, ContentType: fhs[0].Header.Get("Content-Type"), Data: data}
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return nil, badRequest("can't parse form: " + err.Error())
		}
		for k, vs := range r.PostForm {
			if len(vs) > 0 {
				p.values[k] = vs[0]
			}
		}
	}
	return p, nil
}

// serveBotAPI answers /bot<token>/<method>.
func (s *Server) serveBotAPI(w http.ResponseWriter, r *http.Request) {
	token, name, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if s.opts.Token != "" && token != s.opts.Token {
		e := &apiError{code: http.StatusUnauthorized, description: "Unauthorized"}
		s.record(name, nil, e)
		writeEnvelope(w, nil, e)
		return
	}
	p, e := parseParams(w, r)
	if e != nil {
		s.record(name, nil, e)
		writeEnvelope(w, nil, e)
		return
	}
	result, e := s.call(r, name, p)
	writeEnvelope(w, result, e)
}

// call runs one Bot API method: known to the description and the emulator, valid, then answered.
func (s *Server) call(r *http.Request, name string, p *callParams) (any, *apiError) {
	var h methodHandler
	m := s.spec.method(name)
	if m != nil {
		name = m.Name
		h = s.handler(name)
	}
	if h == nil {
		e := &apiError{code: http.StatusNotFound, description: "Not Found"}
		s.record(name, p, e)
		return nil, e
	}
	e := s.spec.validate(m, p, func(param string) { s.noteUnknown(m.Name, param) })
	var result any
	if e == nil {
		result, e = h(r, p)
	}
	s.record(name, p, e)
	return result, e
}

// record counts a call and keeps the ones the bot got wrong.
func (s *Server) record(method string, p *callParams, e *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[method]++
	if e == nil {
		return
	}
	switch e.code {
	case http.StatusForbidden:
		s.metrics.Forbidden++
	case http.StatusConflict:
		s.metrics.Conflicts++
	case http.StatusTooManyRequests:
		s.metrics.TooManyRequests++
	default:
		s.metrics.Rejected++
		rc := RejectedCall{Method: method, Code: e.code, Description: e.description, Params: map[string]string{}}
		if p != nil {
			for k, v := range p.values {
				rc.Params[k] = v
			}
			for k, f := range p.files {
				rc.Params[k] = "file:" + f.Name
			}
		}
		s.rejected = append(s.rejected, rc)
	}
}

func (s *Server) noteUnknown(method, param string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unknown[method] == nil {
		s.unknown[method] = map[string]bool{}
	}
	s.unknown[method][param] = true
}

// UnknownParams lists, per method, the parameters (and "Type.field" inside JSON objects) the bot
// sent that the Bot API description does not know. Telegram ignores them; they are often a
// misspelling or a field of an older Bot API version.
func (s *Server) UnknownParams() map[string][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string][]string{}
	for m, params := range s.unknown {
		for p := range params {
			out[m] = append(out[m], p)
		}
		sort.Strings(out[m])
	}
	return out
}
