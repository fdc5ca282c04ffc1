package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// methodHandler answers one Bot API method after its call has passed the description's checks.
type methodHandler func(r *http.Request, p *callParams) (any, *apiError)

// handler returns the handler of a method by its canonical name, nil for methods the emulator
// does not answer.
func (s *Server) handler(name string) methodHandler {
	switch name {
	case "getMe":
		return s.getMe
	case "getUpdates":
		return s.getUpdates
	case "setWebhook":
		return s.setWebhook
	case "deleteWebhook":
		return s.deleteWebhook
	case "getWebhookInfo":
		return s.getWebhookInfo
	case "sendMessage":
		return s.sendMessage
	case "sendPhoto":
		return s.sendFile("photo")
	case "sendDocument":
		return s.sendFile("document")
	case "sendSticker":
		return s.sendSticker
	case "sendContact":
		return s.sendContact
	case "copyMessage":
		return s.copyMessage
	case "editMessageText":
		return s.editMessageText
	case "editMessageCaption":
		return s.editMessageCaption
	case "editMessageReplyMarkup":
		return s.editMessageReplyMarkup
	case "deleteMessage":
		return s.deleteMessage
	case "answerCallbackQuery":
		return s.answerCallbackQuery
	case "sendChatAction":
		return s.sendChatAction
	case "setMyCommands":
		return s.setMyCommands
	case "getMyCommands":
		return s.getMyCommands
	case "deleteMyCommands":
		return s.deleteMyCommands
	case "getFile":
		return s.getFile
	}
	return nil
}

func (s *Server) getMe(*http.Request, *callParams) (any, *apiError) {
	return struct {
		wireUser
		CanJoinGroups           bool `json:"can_join_groups"`
		CanReadAllGroupMessages bool `json:"can_read_all_group_messages"`
		SupportsInlineQueries   bool `json:"supports_inline_queries"`
	}{wireUser: s.botUser, CanJoinGroups: true}, nil
}

// targetChat finds the chat a call is for: it must exist and must not have blocked the bot.
// Call with s.mu held.
func (s *Server) targetChat(p *callParams, field string) (*chatState, *apiError) {
	id, err := strconv.ParseInt(strings.TrimSpace(p.values[field]), 10, 64)
	if err != nil {
		return nil, badRequest("chat not found") // @usernames name channels, which the emulator has none of
	}
	c := s.chats[id]
	if c == nil {
		return nil, badRequest("chat not found")
	}
	if c.blocked {
		if id > 0 {
			return nil, forbidden("bot was blocked by the user")
		}
		return nil, forbidden("bot was kicked from the group chat")
	}
	return c, nil
}

// takeToken applies the flood limits to a sending call in a chat.
func (s *Server) takeToken(chatID int64) *apiError {
	if wait := s.flood.take(chatID); wait > 0 {
		return &apiError{
			code:        http.StatusTooManyRequests,
			description: fmt.Sprintf("Too Many Requests: retry after %d", wait),
			retryAfter:  wait,
		}
	}
	return nil
}

// send stores a new bot message made by fill in the chat named by chat_id, after the checks every
// sending method shares.
func (s *Server) send(p *callParams, method string, fill func(e *entry) *apiError) (any, *apiError) {
	e := &entry{fromBot: true, method: method}
	if err := fill(e); err != nil {
		return nil, err
	}
	if raw, ok := p.values["reply_markup"]; ok && e.markup == nil {
		m, err := parseMarkup(raw)
		if err != nil {
			return nil, err
		}
		e.markup = m
	}
	s.mu.Lock()
	c, err := s.targetChat(p, "chat_id")
	if err == nil {
		err = s.takeToken(c.id)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	s.storeUploads(e)
	s.addEntry(c, e)
	if k := e.markup; k != nil && (k.reply != nil || k.remove) {
		c.keyboard = nil
		if k.reply != nil {
			c.keyboard = &replyKeyboard{rows: k.reply, oneTime: k.oneTime}
		}
		c.keyboardVer = e.version
	}
	c.action = ""
	out := s.wireMessage(c, e)
	ev := s.botMessageEvent(c, e)
	s.notify()
	s.mu.Unlock()
	s.emit(ev)
	return out, nil
}

// botMessageEvent builds the OnBotMessage event and counts the message; call with s.mu held.
func (s *Server) botMessageEvent(c *chatState, e *entry) BotMessageEvent {
	s.metrics.BotMessages++
	ev := BotMessageEvent{ChatID: c.id, MessageID: e.id, Method: e.method, At: time.Now()}
	if len(c.pending) > 0 {
		ev.SinceUpdate = ev.At.Sub(c.pending[0])
		c.pending = c.pending[:0]
	}
	return ev
}

func (s *Server) emit(ev BotMessageEvent) {
	if s.opts.OnBotMessage != nil {
		s.opts.OnBotMessage(ev)
	}
}

func (s *Server) sendMessage(_ *http.Request, p *callParams) (any, *apiError) {
	return s.send(p, "sendMessage", func(e *entry) *apiError {
		f, err := checkText(p.values["text"], p.values["parse_mode"])
		if err != nil {
			return err
		}
		e.text, e.html, e.parseMode = f.plain, f.html, p.values["parse_mode"]
		return nil
	})
}

// sendFile answers sendPhoto and sendDocument: the file comes as an upload, or as the file_id of a
// file the emulator knows (uploaded by the bot or sent by a person) or an http(s) URL.
func (s *Server) sendFile(field string) methodHandler {
	method := "sendPhoto"
	if field == "document" {
		method = "sendDocument"
	}
	return func(_ *http.Request, p *callParams) (any, *apiError) {
		return s.send(p, method, func(e *entry) *apiError {
			if err := s.fillCaption(e, p); err != nil {
				return err
			}
			var ref *fileRef
			if up := p.files[field]; up != nil {
				if len(up.Data) == 0 {
					return badRequest("file must be non-empty")
				}
				ref = &fileRef{kind: field, name: up.Name, mimeType: up.ContentType, data: up.Data}
				if ref.name == "" {
					ref.name = field
				}
			} else {
				var err *apiError
				if ref, err = s.fileByReference(field, strings.TrimSpace(p.values[field])); err != nil {
					return err
				}
			}
			if field == "photo" {
				e.photo = ref
			} else {
				e.document = ref
			}
			return nil
		})
	}
}

// fileByReference finds what a file_id or URL names, as Telegram would: an unknown file_id is
// refused, and so is the file_id of a photo sent as a document or the other way round. A URL,
// which Telegram would download, becomes a new file without content.
func (s *Server) fileByReference(kind, ref string) (*fileRef, *apiError) {
	if u, err := url.Parse(ref); err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return &fileRef{kind: kind, name: ref}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[ref]
	switch {
	case f == nil:
		return nil, badRequest("wrong file identifier/HTTP URL specified")
	case f.kind != kind:
		return nil, badRequest("type of file mismatch")
	}
	return &fileRef{fileID: f.id, kind: f.kind, name: f.name, mimeType: f.contentType, data: f.data}, nil
}

// storeUploads gives the new files of a message about to be sent their file_ids; call with s.mu
// held, once the call has passed every check, so that a refused upload leaves nothing behind.
func (s *Server) storeUploads(e *entry) {
	for _, ref := range []*fileRef{e.photo, e.document} {
		if ref != nil && ref.fileID == "" {
			s.storeFile(ref)
		}
	}
}

// storeFile gives a new file its file_id and keeps it, so that the bot may send it again by that
// id and the chat page may show it; call with s.mu held. A photo is also known by the file_id of
// its small size, which messages list first.
func (s *Server) storeFile(ref *fileRef) {
	s.nextFileID++
	prefix := "EMUDOC"
	if ref.kind == "photo" {
		prefix = "EMUPHOTO"
	}
	ref.fileID = fmt.Sprintf("%s%06dAAQ", prefix, s.nextFileID)
	f := &storedFile{id: ref.fileID, kind: ref.kind, name: ref.name, contentType: ref.mimeType, data: ref.data}
	s.files[f.id] = f
	if ref.kind == "photo" {
		s.files[smallPhotoID(f.id)] = f
	}
}

// smallPhotoID is the file_id of the small size of a photo.
func smallPhotoID(id string) string { return id + "-s" }

func (s *Server) fillCaption(e *entry, p *callParams) *apiError {
	caption, ok := p.values["caption"]
	if !ok {
		return nil
	}
	f, err := checkCaption(caption, p.values["parse_mode"])
	if err != nil {
		return err
	}
	e.caption, e.html, e.parseMode = f.plain, f.html, p.values["parse_mode"]
	return nil
}

func (s *Server) sendSticker(_ *http.Request, p *callParams) (any, *apiError) {
	return s.send(p, "sendSticker", func(e *entry) *apiError {
		e.sticker = p.values["sticker"]
		if up := p.files["sticker"]; up != nil {
			e.sticker = up.Name
		}
		return nil
	})
}

func (s *Server) sendContact(_ *http.Request, p *callParams) (any, *apiError) {
	return s.send(p, "sendContact", func(e *entry) *apiError {
		e.contact = &wireContact{PhoneNumber: p.values["phone_number"], FirstName: p.values["first_name"], LastName: p.values["last_name"]}
		return nil
	})
}

func (s *Server) copyMessage(_ *http.Request, p *callParams) (any, *apiError) {
	s.mu.Lock()
	from, err := s.targetChat(p, "from_chat_id")
	var orig *entry
	if err == nil {
		id, _ := strconv.Atoi(p.values["message_id"])
		if orig = from.byID[id]; orig == nil || orig.deleted {
			err = badRequest("message to copy not found")
		}
	}
	var cp entry
	if err == nil {
		cp = *orig
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	msg, err := s.send(p, "copyMessage", func(e *entry) *apiError {
		e.text, e.caption, e.html, e.parseMode = cp.text, cp.caption, cp.html, cp.parseMode
		e.entities, e.photo, e.document, e.sticker, e.contact = cp.entities, cp.photo, cp.document, cp.sticker, cp.contact
		if _, ok := p.values["caption"]; ok {
			return s.fillCaption(e, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return struct {
		MessageID int `json:"message_id"`
	}{msg.(*wireMessage).MessageID}, nil
}

// edit changes a bot message named by chat_id and message_id; apply returns false when nothing
// would change, which Telegram refuses.
func (s *Server) edit(p *callParams, method string, apply func(e *entry) (changed bool, err *apiError)) (any, *apiError) {
	if _, ok := p.values["inline_message_id"]; ok {
		return nil, badRequest("MESSAGE_ID_INVALID") // no inline mode in the emulator
	}
	if _, ok := p.values["chat_id"]; !ok {
		return nil, badRequest("chat_id is empty")
	}
	id, convErr := strconv.Atoi(p.values["message_id"])
	if convErr != nil || id == 0 {
		return nil, badRequest("message identifier is not specified")
	}
	s.mu.Lock()
	c, err := s.targetChat(p, "chat_id")
	var e *entry
	if err == nil {
		if e = c.byID[id]; e == nil || e.deleted {
			err = badRequest("message to edit not found")
		} else if !e.fromBot {
			err = badRequest("message can't be edited")
		}
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	updated := *e
	changed, err := apply(&updated)
	if err == nil && !changed {
		err = badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	if err == nil {
		err = s.takeToken(c.id)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	updated.edited, updated.editDate, updated.version = true, s.opts.Now(), s.nextVersion()
	updated.method = e.method
	*e = updated
	out := s.wireMessage(c, e)
	ev := s.botMessageEvent(c, e)
	ev.Method = method
	s.notify()
	s.mu.Unlock()
	s.emit(ev)
	return out, nil
}

// editedMarkup reads the reply_markup of an edit: without one, Telegram removes the inline keyboard.
func editedMarkup(p *callParams) (*markup, *apiError) {
	return parseMarkup(p.values["reply_markup"])
}

func (s *Server) editMessageText(_ *http.Request, p *callParams) (any, *apiError) {
	f, err := checkText(p.values["text"], p.values["parse_mode"])
	if err != nil {
		return nil, err
	}
	m, err := editedMarkup(p)
	if err != nil {
		return nil, err
	}
	return s.edit(p, "editMessageText", func(e *entry) (bool, *apiError) {
		if e.photo != nil || e.document != nil || e.sticker != "" || e.contact != nil {
			return false, badRequest("there is no text in the message to edit")
		}
		changed := e.text != f.plain || e.html != f.html || !sameInline(e.markup, m)
		e.text, e.html, e.parseMode, e.markup = f.plain, f.html, p.values["parse_mode"], m
		return changed, nil
	})
}

func (s *Server) editMessageCaption(_ *http.Request, p *callParams) (any, *apiError) {
	f, err := checkCaption(p.values["caption"], p.values["parse_mode"])
	if err != nil {
		return nil, err
	}
	m, err := editedMarkup(p)
	if err != nil {
		return nil, err
	}
	return s.edit(p, "editMessageCaption", func(e *entry) (bool, *apiError) {
		if e.photo == nil && e.document == nil {
			return false, badRequest("there is no caption in the message to edit")
		}
		changed := e.caption != f.plain || e.html != f.html || !sameInline(e.markup, m)
		e.caption, e.html, e.parseMode, e.markup = f.plain, f.html, p.values["parse_mode"], m
		return changed, nil
	})
}

func (s *Server) editMessageReplyMarkup(_ *http.Request, p *callParams) (any, *apiError) {
	m, err := editedMarkup(p)
	if err != nil {
		return nil, err
	}
	return s.edit(p, "editMessageReplyMarkup", func(e *entry) (bool, *apiError) {
		changed := !sameInline(e.markup, m)
		e.markup = m
		return changed, nil
	})
}

func (s *Server) deleteMessage(_ *http.Request, p *callParams) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.targetChat(p, "chat_id")
	if err != nil {
		return nil, err
	}
	id, _ := strconv.Atoi(p.values["message_id"])
	e := c.byID[id]
	if e == nil || e.deleted {
		return nil, badRequest("message to delete not found")
	}
	e.deleted, e.version = true, s.nextVersion()
	s.notify()
	return true, nil
}

func (s *Server) answerCallbackQuery(_ *http.Request, p *callParams) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.values["callback_query_id"]
	q := s.queries[id]
	if q == nil || q.answered {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	if utf16Length(p.values["text"]) > 200 {
		return nil, badRequest("MESSAGE_TOO_LONG")
	}
	q.answered = true
	alert, _ := parseBool(p.values["show_alert"])
	a := CallbackAnswer{QueryID: id, ChatID: q.chatID, MessageID: q.messageID, Data: q.data, Text: p.values["text"], ShowAlert: alert, URL: p.values["url"]}
	if c := s.chats[q.chatID]; c != nil {
		c.answers = append(c.answers, answerEntry{CallbackAnswer: a, version: s.nextVersion()})
	}
	s.notify()
	return true, nil
}

// validChatAction tells the actions sendChatAction accepts.
func validChatAction(a string) bool {
	switch a {
	case "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
		"upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note":
		return true
	}
	return false
}

func (s *Server) sendChatAction(_ *http.Request, p *callParams) (any, *apiError) {
	action := p.values["action"]
	if !validChatAction(action) {
		return nil, badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.targetChat(p, "chat_id")
	if err != nil {
		return nil, err
	}
	// Telegram shows an action for five seconds or until the bot's next message.
	c.action, c.actionUntil, c.actionVer = action, time.Now().Add(5*time.Second), s.nextVersion()
	s.notify()
	return true, nil
}

// validCommand tells what Telegram allows as a command: 1-32 lower-case letters, digits, underscores.
func validCommand(c string) bool {
	return regexp.MustCompile(`^[a-z0-9_]{1,32}$`).MatchString(c)
}

// commandsKey names a command list by its scope and language, as Telegram keeps them.
func commandsKey(p *callParams) string {
	var scope struct {
		Type   string          `json:"type"`
		ChatID json.RawMessage `json:"chat_id"`
		UserID int64           `json:"user_id"`
	}
	_ = json.Unmarshal([]byte(p.values["scope"]), &scope)
	if scope.Type == "" {
		scope.Type = "default"
	}
	key := scope.Type
	if scope.ChatID != nil {
		key += ":" + strings.Trim(string(scope.ChatID), `"`)
	}
	if scope.UserID != 0 {
		key += ":" + strconv.FormatInt(scope.UserID, 10)
	}
	return key + "|" + p.values["language_code"]
}

func (s *Server) setMyCommands(_ *http.Request, p *callParams) (any, *apiError) {
	var cmds []BotCommand
	if err := json.Unmarshal([]byte(p.values["commands"]), &cmds); err != nil {
		return nil, badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return nil, badRequest("too many commands")
	}
	for _, c := range cmds {
		if !validCommand(c.Command) {
			return nil, badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf16Length(c.Description); n < 1 || n > 256 {
			return nil, badRequest("command description is empty or too long")
		}
	}
	if lang := p.values["language_code"]; lang != "" && !regexp.MustCompile(`^[a-z]{2}$`).MatchString(lang) {
		return nil, badRequest("invalid language code specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commands[commandsKey(p)] = cmds
	return true, nil
}

func (s *Server) getMyCommands(_ *http.Request, p *callParams) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[commandsKey(p)]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return cmds, nil
}

func (s *Server) deleteMyCommands(_ *http.Request, p *callParams) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, commandsKey(p))
	return true, nil
}

// maxDownloadBytes is the largest file a bot may download (getFile), Telegram's 20 MB.
const maxDownloadBytes = 20 << 20

// getFile answers a file the emulator knows by its file_id with a file_path to download it from
// /file/bot<token>/<file_path>; a file over 20 MB is refused, as Telegram refuses it.
func (s *Server) getFile(_ *http.Request, p *callParams) (any, *apiError) {
	id := strings.TrimSpace(p.values["file_id"])
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.files[id]
	switch {
	case f == nil:
		return nil, badRequest("invalid file_id")
	case len(f.data) > maxDownloadBytes:
		return nil, badRequest("file is too big")
	}
	if f.path == "" {
		s.nextFilePath++
		ext := ".jpg"
		if f.kind != "photo" {
			ext = strings.ToLower(path.Ext(f.name))
			if len(ext) > 8 || strings.ContainsAny(ext, "/?#% ") {
				ext = ""
			}
		}
		f.path = fmt.Sprintf("%ss/file_%d%s", f.kind, s.nextFilePath, ext)
		s.paths[f.path] = f
	}
	unique := id + "u"
	if f.kind == "photo" {
		unique = f.id + "m"
		if id != f.id {
			unique = f.id + "s"
		}
	}
	return struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileSize     int    `json:"file_size,omitempty"`
		FilePath     string `json:"file_path,omitempty"`
	}{id, unique, len(f.data), f.path}, nil
}

// serveFile answers a download from /file/bot<token>/<file_path>, a path getFile gave out.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request) {
	token, filePath, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/file/bot"), "/")
	if s.opts.Token != "" && token != s.opts.Token {
		writeEnvelope(w, nil, &apiError{code: http.StatusUnauthorized, description: "Unauthorized"})
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeEnvelope(w, nil, &apiError{code: http.StatusMethodNotAllowed, description: "Method Not Allowed"})
		return
	}
	s.mu.Lock()
	f := s.paths[filePath]
	s.mu.Unlock()
	if f == nil {
		writeEnvelope(w, nil, &apiError{code: http.StatusNotFound, description: "Not Found"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.data)
	}
}
