package zalotest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/bot/internal/pageguard"
)

// The chat page's API, under /zalo/api/ (JSON in and out; errors are {"error"} with HTTP 400, or
// 415, 403, 421 as below):
//
//	GET  people                        {"oa":{"id","name"},"note","people":[{"id","name","follower"}]}
//	GET  open?user=ID&name=N           {"oa","note","user"}: the person (added when unknown; a new id
//	                                   when user is empty); note is Options.PageNote, "" for none
//	GET  messages?user=ID&after=CURSOR {"cursor","follower","messages":[…]} after the cursor
//	POST send         {"user","text"}
//	POST tap          {"user","message_id","button"}       button: its index
//	POST follow       {"user"}        POST unfollow {"user"}
//	POST submit_info  {"user","name","phone"}
//	POST image        {"user","image","text"}              image: JPEG or PNG, base64; text: caption
//	POST sticker      {"user"}
//
// POSTs take only Content-Type: application/json (415 otherwise), so that a form on another site
// cannot post to the page's API without the browser asking first (CORS preflight). With
// Options.PageToken every call carries the token (see guardPage).

type pagePerson struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Follower bool   `json:"follower"`
}

type pageButton struct {
	Title string `json:"title"`
	Type  string `json:"type"`
	Link  string `json:"link,omitempty"` // for oa.open.*: a URL, tel: or sms:
}

type pageFile struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"`
}

type pageRequest struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	ImageURL string `json:"image_url,omitempty"`
}

type pageMessage struct {
	Seq      int64        `json:"seq"`
	ID       string       `json:"id"`
	From     string       `json:"from"` // "oa", "user" or "system"
	Time     int64        `json:"time"` // epoch ms on the injected clock
	Text     string       `json:"text,omitempty"`
	Buttons  []pageButton `json:"buttons,omitempty"`
	Image    string       `json:"image,omitempty"`
	File     *pageFile    `json:"file,omitempty"`
	Request  *pageRequest `json:"request,omitempty"`
	Sticker  bool         `json:"sticker,omitempty"`
	Location string       `json:"location,omitempty"`
	Info     string       `json:"info,omitempty"`
	Admin    bool         `json:"admin,omitempty"`
}

type pageAction struct {
	User      string `json:"user"`
	Text      string `json:"text"`
	MessageID string `json:"message_id"`
	Button    int    `json:"button"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	Image     []byte `json:"image"`
}

func (s *Server) servePageAPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch action := strings.TrimPrefix(r.URL.Path, "/zalo/api/"); action {
	case "people":
		writeJSON(w, map[string]any{"oa": s.pageOA(), "note": s.opts.PageNote, "people": s.pagePeople()})
	case "open":
		id, name := strings.TrimSpace(q.Get("user")), strings.TrimSpace(q.Get("name"))
		if id == "" {
			id = s.AddUser(name)
		} else if _, ok := s.Person(id); !ok {
			if strings.Trim(id, "0123456789") != "" || len(id) > 19 {
				pageError(w, "user must be a number of at most 19 digits")
				return
			}
			_ = s.AddUserWithID(id, name) // a concurrent open may have added them: fine either way
		}
		p, _ := s.Person(id)
		writeJSON(w, map[string]any{"oa": s.pageOA(), "note": s.opts.PageNote, "user": pagePerson{p.ID, p.Name, p.Follower}})
	case "messages":
		after, _ := strconv.ParseInt(q.Get("after"), 10, 64)
		out, ok := s.pageMessages(q.Get("user"), after)
		if !ok {
			pageError(w, "no user "+q.Get("user"))
			return
		}
		writeJSON(w, out)
	case "send", "tap", "follow", "unfollow", "submit_info", "image", "sticker":
		if r.Method != http.MethodPost {
			pageError(w, "use POST")
			return
		}
		if !isJSON(r) {
			pageErrorCode(w, http.StatusUnsupportedMediaType, "send JSON, with Content-Type: application/json")
			return
		}
		var a pageAction
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 2*MaxImageBytes+1<<20)).Decode(&a); err != nil {
			pageError(w, "bad JSON: "+err.Error())
			return
		}
		id, err := s.pageAct(action, a)
		if err != nil {
			pageError(w, err.Error())
			return
		}
		writeJSON(w, map[string]string{"id": id})
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) pageAct(action string, a pageAction) (string, error) {
	switch action {
	case "send":
		return s.SendText(a.User, strings.TrimSpace(a.Text))
	case "tap":
		return s.Tap(a.User, a.MessageID, a.Button)
	case "follow":
		return s.Follow(a.User)
	case "unfollow":
		return s.Unfollow(a.User)
	case "submit_info":
		return s.SubmitInfo(a.User, strings.TrimSpace(a.Name), a.Phone)
	case "image":
		if len(a.Image) == 0 {
			return s.SendImage(a.User, strings.TrimSpace(a.Text))
		}
		return s.SendImageData(a.User, strings.TrimSpace(a.Text), a.Image)
	default: // sticker
		return s.SendSticker(a.User)
	}
}

func (s *Server) pageOA() map[string]string {
	return map[string]string{"id": s.opts.OAID, "name": s.opts.OAName}
}

func (s *Server) pagePeople() []pagePerson {
	out := []pagePerson{}
	for _, p := range s.People() {
		out = append(out, pagePerson{p.ID, p.Name, p.Follower})
	}
	return out
}

// pageMessages lists a conversation's entries after a cursor, as the person sees them.
func (s *Server) pageMessages(userID string, after int64) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[userID]
	if u == nil {
		return nil, false
	}
	msgs := []pageMessage{}
	for _, e := range u.entries {
		if e.seq <= after || e.hidden {
			continue
		}
		msgs = append(msgs, s.pageMessageLocked(e))
	}
	return map[string]any{"cursor": s.seq, "follower": u.follower, "messages": msgs}, true
}

func (s *Server) pageMessageLocked(e *entry) pageMessage {
	pm := pageMessage{Seq: e.seq, ID: e.id, From: "user", Time: e.time.UnixMilli(), Text: e.text}
	media := func(up *upload) string { return "/zalo/media/" + up.id }
	if m := e.msg; m != nil {
		pm.From, pm.Text, pm.Admin = "oa", m.Text, m.AdminID != ""
		for _, b := range m.Buttons {
			pb := pageButton{Title: b.Title, Type: b.Type}
			switch b.Type {
			case "oa.open.url":
				pb.Link = b.Payload
			case "oa.open.phone":
				pb.Link = "tel:" + b.Payload
			case "oa.open.sms":
				pb.Link = "sms:" + b.Payload
			}
			pm.Buttons = append(pm.Buttons, pb)
		}
		if m.Image != nil {
			pm.Image = m.Image.URL
			if own := s.base() + "/zalo/media/"; strings.HasPrefix(pm.Image, own) {
				// One of the emulator's own files, sent back by URL: served to the page from its
				// own origin, where the page's token goes with it.
				pm.Image = strings.TrimPrefix(pm.Image, s.base())
			}
			if m.Image.AttachmentID != "" {
				pm.Image = "/zalo/media/" + m.Image.AttachmentID
			}
		}
		if m.File != nil {
			pm.File = &pageFile{Name: m.File.Name, URL: "/zalo/media/" + m.File.Token}
		}
		if ri := m.RequestInfo; ri != nil {
			pm.Request = &pageRequest{Title: ri.Title, Subtitle: ri.Subtitle, ImageURL: ri.ImageURL}
		}
		return pm
	}
	switch e.kind {
	case "follow", "unfollow":
		pm.From, pm.Text = "system", e.kind
	case "image":
		pm.Image = media(e.media)
	case "file":
		pm.File = &pageFile{Name: e.media.name, URL: media(e.media)}
	case "sticker":
		pm.Sticker = true
	case "location":
		pm.Location = strconv.FormatFloat(e.lat, 'f', -1, 64) + "," + strconv.FormatFloat(e.lng, 'f', -1, 64)
	case "info":
		pm.Info = e.info.Name + " · " + e.info.Phone
	}
	return pm
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func pageError(w http.ResponseWriter, msg string) {
	pageErrorCode(w, http.StatusBadRequest, msg)
}

func pageErrorCode(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// needTokenMessage answers a call without Options.PageToken; the page shows it.
const needTokenMessage = "Cần mã của bản demo: hãy mở đúng đường link in ra khi chạy demo (…/zalo/?token=…) · " +
	"This demo's page needs its token: open the link the demo printed when it started"

// guardPage lets a request to the chat page (withToken false) or its API and files (withToken
// true) go on, or answers it (see pageguard.Guard): a Host not among Options.PageHosts gets 421,
// and a call without Options.PageToken 403.
func (s *Server) guardPage(w http.ResponseWriter, r *http.Request, withToken bool) bool {
	g := pageguard.Guard{Hosts: s.opts.PageHosts, Token: s.opts.PageToken, NeedToken: needTokenMessage}
	return g.Allow(w, r, withToken, pageErrorCode)
}

// isJSON says whether a request's body is declared as JSON.
func isJSON(r *http.Request) bool { return pageguard.IsJSON(r) }
