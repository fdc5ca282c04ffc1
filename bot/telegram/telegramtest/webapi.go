package telegramtest

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/thuduc/maytinhchoem/bot/internal/pageguard"
)

// maxPageWait bounds the chat page's long poll, below the usual 30-second proxy timeouts.
const maxPageWait = 25 * time.Second

// pagePerson is who the chat page acts as.
type pagePerson struct {
	User int64  `json:"user"`
	Lang string `json:"lang"`
	Name string `json:"name"`
}

func (p pagePerson) user() (User, error) {
	if p.User <= 0 {
		return User{}, fmt.Errorf("user must be a positive number")
	}
	lang := p.Lang
	if lang != "en" {
		lang = "vi"
	}
	return withDefaults(p.User, User{ID: p.User, FirstName: strings.TrimSpace(p.Name), LanguageCode: lang}), nil
}

// pageAction is what the chat page posts: a text, a shared phone, a button press, or a photo
// (Photo, base64 in JSON, with Text as its caption).
type pageAction struct {
	pagePerson
	Text      string `json:"text"`
	Phone     string `json:"phone"`
	MessageID int    `json:"message_id"`
	Data      string `json:"data"`
	Photo     []byte `json:"photo"`
}

// maxPagePhotoBytes is Telegram's limit on a photo.
const maxPagePhotoBytes = 10 << 20

type pageButton struct {
	Text           string `json:"text"`
	CallbackData   string `json:"callback_data,omitempty"`
	URL            string `json:"url,omitempty"`
	RequestContact bool   `json:"request_contact,omitempty"`
}

type pageFile struct {
	Name string `json:"name"`
	URL  string `json:"url,omitempty"` // shown inline; a document's link adds download=1
}

type pageMessage struct {
	MessageID int            `json:"message_id"`
	From      string         `json:"from"` // "bot" or "user"
	Date      int64          `json:"date"`
	HTML      string         `json:"html"` // safe to put in the page as is
	Inline    [][]pageButton `json:"inline_keyboard,omitempty"`
	Photo     *pageFile      `json:"photo,omitempty"`
	Document  *pageFile      `json:"document,omitempty"`
	Sticker   bool           `json:"sticker,omitempty"`
	Contact   string         `json:"contact,omitempty"`
	Edited    bool           `json:"edited,omitempty"`
	Deleted   bool           `json:"deleted,omitempty"`
}

type pageNotice struct {
	Text      string `json:"text"`
	ShowAlert bool   `json:"show_alert"`
}

type pageUpdate struct {
	Cursor   int64          `json:"cursor"`
	Messages []pageMessage  `json:"messages"`
	Keyboard [][]pageButton `json:"keyboard"` // the reply keyboard on screen now, null when none
	Notices  []pageNotice   `json:"notices"`
	Action   string         `json:"action,omitempty"` // "typing" and the like, while it lasts
}

// serveUserAPI answers the chat page.
//
//	GET  /api/chat?user=ID&lang=vi|en&name=N    open the private chat, returns the bot's names
//	                                            and the page's note (Options.PageNote, "" for none)
//	POST /api/send     {"user","lang","name","text"}
//	POST /api/contact  {"user","lang","name","phone"}
//	POST /api/press    {"user","lang","name","message_id","data"}
//	POST /api/photo    {"user","lang","name","photo","text"}   photo: a JPEG or PNG in base64, or
//	                   empty for a generated one; text: its caption
//	GET  /api/messages?user=ID&since=CURSOR&wait=SECONDS   changes after the cursor, long-polled
//	GET  /api/file?id=FILE_ID[&download=1]      a photo or document with content, by any of its
//	                                            file_ids; download=1 saves it under its name
//
// POSTs take only Content-Type: application/json (415 otherwise), so that a form on another site
// cannot post to the page's API without the browser asking first (CORS preflight). With
// Options.PageToken every call carries the token (see guardPage).
func (s *Server) serveUserAPI(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	queryPerson := func() pagePerson {
		id, _ := strconv.ParseInt(q.Get("user"), 10, 64)
		return pagePerson{User: id, Lang: q.Get("lang"), Name: q.Get("name")}
	}
	switch r.URL.Path {
	case "/api/chat":
		u, err := queryPerson().user()
		if err != nil {
			pageError(w, http.StatusBadRequest, err.Error())
			return
		}
		id := s.AddChat(u)
		writeJSON(w, map[string]any{
			"chat_id": id,
			"user":    map[string]any{"id": u.ID, "first_name": u.FirstName, "language_code": u.LanguageCode},
			"bot":     map[string]any{"username": s.botUser.Username, "first_name": s.botUser.FirstName},
			"note":    s.opts.PageNote,
		})
	case "/api/send", "/api/contact", "/api/press", "/api/photo":
		s.servePageAction(w, r)
	case "/api/messages":
		id, _ := strconv.ParseInt(q.Get("user"), 10, 64)
		if id <= 0 {
			pageError(w, http.StatusBadRequest, "user must be a positive number")
			return
		}
		since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
		wait, _ := strconv.Atoi(q.Get("wait"))
		writeJSON(w, s.pageChanges(r, id, since, min(time.Duration(max(wait, 0))*time.Second, maxPageWait)))
	case "/api/file":
		s.mu.Lock()
		f := s.files[q.Get("id")]
		s.mu.Unlock()
		if f == nil || len(f.data) == 0 {
			http.NotFound(w, r)
			return
		}
		ct := f.contentType
		if ct == "" || ct == "application/octet-stream" {
			ct = http.DetectContentType(f.data)
		}
		disposition := "inline"
		if q.Get("download") == "1" {
			disposition = "attachment"
		}
		// FormatMediaType encodes a name that is not ASCII ("Báo cáo.xlsx") as RFC 2231 asks.
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": f.name}))
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
		_, _ = w.Write(f.data)
	default:
		pageError(w, http.StatusNotFound, "not found")
	}
}

func (s *Server) servePageAction(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		pageError(w, http.StatusMethodNotAllowed, "use POST")
		return
	}
	if !isJSON(r) {
		pageError(w, http.StatusUnsupportedMediaType, "send JSON, with Content-Type: application/json")
		return
	}
	limit := int64(1 << 20)
	if r.URL.Path == "/api/photo" {
		limit = maxPagePhotoBytes*4/3 + 1<<20 // base64 and the rest of the JSON
	}
	var a pageAction
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit)).Decode(&a); err != nil {
		pageError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return
	}
	u, err := a.user()
	if err != nil {
		pageError(w, http.StatusBadRequest, err.Error())
		return
	}
	var id int64
	switch r.URL.Path {
	case "/api/send":
		if strings.TrimSpace(a.Text) == "" {
			pageError(w, http.StatusBadRequest, "text is empty")
			return
		}
		id = s.SendText(u.ID, u, a.Text)
	case "/api/contact":
		if strings.TrimSpace(a.Phone) == "" {
			pageError(w, http.StatusBadRequest, "phone is empty")
			return
		}
		id = s.SendContact(u.ID, u, strings.TrimSpace(a.Phone), u.ID)
	case "/api/press":
		id, err = s.PressButton(u.ID, u, a.MessageID, a.Data)
		if err != nil {
			pageError(w, http.StatusBadRequest, err.Error())
			return
		}
	case "/api/photo":
		var data []byte
		if len(a.Photo) > 0 {
			if ct := http.DetectContentType(a.Photo); ct != "image/jpeg" && ct != "image/png" {
				pageError(w, http.StatusBadRequest, "photo must be a JPEG or PNG, not "+ct)
				return
			}
			if len(a.Photo) > maxPagePhotoBytes {
				pageError(w, http.StatusBadRequest, "photo is over 10 MB")
				return
			}
			data = a.Photo
		}
		id = s.SendPhotoWith(u.ID, u, strings.TrimSpace(a.Text), data)
	}
	writeJSON(w, map[string]int64{"update_id": id})
}

// pageChanges waits up to wait for changes to a chat after the cursor since, and returns them.
func (s *Server) pageChanges(r *http.Request, chatID, since int64, wait time.Duration) pageUpdate {
	timer := time.NewTimer(wait)
	defer timer.Stop()
	expired := wait <= 0
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		out, ok := s.pageChangesLocked(chatID, since)
		if ok || expired {
			return out
		}
		expired = s.waitLocked(r, timer)
	}
}

// pageChangesLocked collects a chat's changes after a cursor; call with s.mu held.
func (s *Server) pageChangesLocked(chatID, since int64) (pageUpdate, bool) {
	out := pageUpdate{Cursor: s.version, Messages: []pageMessage{}, Notices: []pageNotice{}}
	c := s.chats[chatID]
	if c == nil {
		return out, false
	}
	changed := c.keyboardVer > since || c.actionVer > since
	for _, e := range c.entries {
		if e.version > since {
			out.Messages = append(out.Messages, s.pageMessage(e))
			changed = true
		}
	}
	for _, a := range c.answers {
		if a.version > since && a.Text != "" {
			out.Notices = append(out.Notices, pageNotice{Text: a.Text, ShowAlert: a.ShowAlert})
			changed = true
		}
	}
	if c.keyboard != nil {
		for _, row := range c.keyboard.rows {
			var buttons []pageButton
			for _, b := range row {
				buttons = append(buttons, pageButton{Text: b.Text, RequestContact: b.RequestContact})
			}
			out.Keyboard = append(out.Keyboard, buttons)
		}
	}
	if c.action != "" && time.Now().Before(c.actionUntil) {
		out.Action = c.action
	}
	return out, changed
}

// pageMessage renders a message for the chat page; call with s.mu held.
func (s *Server) pageMessage(e *entry) pageMessage {
	m := pageMessage{MessageID: e.id, From: "user", Date: e.date.Unix(), HTML: e.html, Sticker: e.sticker != "", Edited: e.edited, Deleted: e.deleted}
	if e.fromBot {
		m.From = "bot"
	}
	if e.markup != nil {
		for _, row := range e.markup.inline {
			var buttons []pageButton
			for _, b := range row {
				buttons = append(buttons, pageButton{Text: b.Text, CallbackData: b.CallbackData, URL: b.URL})
			}
			m.Inline = append(m.Inline, buttons)
		}
	}
	file := func(ref *fileRef) *pageFile {
		if ref == nil {
			return nil
		}
		f := &pageFile{Name: ref.name}
		if stored := s.files[ref.fileID]; stored != nil && len(stored.data) > 0 {
			f.URL = "/api/file?id=" + url.QueryEscape(ref.fileID)
		}
		return f
	}
	m.Photo, m.Document = file(e.photo), file(e.document)
	if e.contact != nil {
		m.Contact = e.contact.PhoneNumber
	}
	return m
}

// needTokenMessage answers a call without Options.PageToken; the page shows it.
const needTokenMessage = "Cần mã của bản demo: hãy mở đúng đường link in ra khi chạy demo (…/?token=…) · " +
	"This demo's page needs its token: open the link the demo printed when it started"

// guardPage lets a request to the chat page (withToken false) or its API and files (withToken
// true) go on, or answers it (see pageguard.Guard): a Host not among Options.PageHosts gets 421,
// and a call without Options.PageToken 403.
func (s *Server) guardPage(w http.ResponseWriter, r *http.Request, withToken bool) bool {
	g := pageguard.Guard{Hosts: s.opts.PageHosts, Token: s.opts.PageToken, NeedToken: needTokenMessage}
	return g.Allow(w, r, withToken, pageError)
}

// isJSON says whether a request's body is declared as JSON.
func isJSON(r *http.Request) bool { return pageguard.IsJSON(r) }

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

func pageError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
