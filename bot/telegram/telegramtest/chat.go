package telegramtest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// chatState is one chat: its person, its messages from both sides, and what its screen shows.
type chatState struct {
	id            int64
	user          User // the person of a private chat; the latest sender of a group
	blocked       bool
	nextMessageID int
	entries       []*entry
	byID          map[int]*entry
	keyboard      *replyKeyboard // the reply keyboard on screen, nil when none
	keyboardVer   int64
	pending       []time.Time // wall-clock arrivals of updates no bot message has followed yet
	action        string
	actionUntil   time.Time
	actionVer     int64
	answers       []answerEntry
}

// entry is one message of a chat, the person's or the bot's.
type entry struct {
	id        int
	fromBot   bool
	from      User
	method    string
	date      time.Time
	editDate  time.Time
	edited    bool
	deleted   bool
	version   int64
	text      string
	caption   string
	parseMode string
	html      string // safe rendering of text or caption for the chat page
	entities  []wireEntity
	markup    *markup
	photo     *fileRef
	document  *fileRef
	sticker   string
	contact   *wireContact
}

// fileRef is a photo or document in a message.
type fileRef struct {
	fileID   string
	kind     string // "photo" or "document"
	name     string // the file name, or the URL it was sent by
	mimeType string
	data     []byte
}

// replyKeyboard is a reply keyboard on the person's screen.
type replyKeyboard struct {
	rows    [][]KeyboardButton
	oneTime bool
}

// answerEntry is an answerCallbackQuery, kept for the chat page to show as a notice.
type answerEntry struct {
	CallbackAnswer
	version int64
}

// callbackQuery is a button press waiting for answerCallbackQuery.
type callbackQuery struct {
	chatID    int64
	messageID int
	data      string
	answered  bool
}

func (c *chatState) wire() wireChat {
	if c.id > 0 {
		return wireChat{ID: c.id, Type: "private", FirstName: c.user.FirstName, LastName: c.user.LastName, Username: c.user.Username}
	}
	return wireChat{ID: c.id, Type: "group", Title: fmt.Sprintf("Nhóm %d", -c.id)}
}

// chatInstance is the global identifier of the chat a callback query came from.
func (c *chatState) chatInstance() string {
	return fmt.Sprintf("%d", uint64(c.id)*2654435761%9000000000000000000+1000000000000000000)
}

// ensureChat returns the chat, creating it on the person's first contact; call with s.mu held.
// A private chat's id is its person's id; group chats have negative ids, as in Telegram.
func (s *Server) ensureChat(chatID int64, u User) *chatState {
	c := s.chats[chatID]
	if c == nil {
		c = &chatState{id: chatID, user: u, nextMessageID: 1, byID: map[int]*entry{}}
		s.chats[chatID] = c
	}
	if u.ID != 0 && (chatID < 0 || chatID == u.ID) {
		c.user = u // a person may change their name or language between messages
	}
	return c
}

// addEntry gives a new message its id and stamps; call with s.mu held.
func (s *Server) addEntry(c *chatState, e *entry) {
	e.id = c.nextMessageID
	c.nextMessageID++
	e.date = s.opts.Now()
	e.version = s.nextVersion()
	c.entries = append(c.entries, e)
	c.byID[e.id] = e
}

// wireMessage renders a message in the Bot API's shape; call with s.mu held.
func (s *Server) wireMessage(c *chatState, e *entry) *wireMessage {
	m := &wireMessage{MessageID: e.id, Date: e.date.Unix(), Chat: c.wire(), Text: e.text, Entities: e.entities, Caption: e.caption}
	if e.fromBot {
		bot := s.botUser
		m.From = &bot
	} else {
		u := e.from.wire()
		m.From = &u
	}
	if e.edited {
		m.EditDate = e.editDate.Unix()
	}
	if e.photo != nil {
		m.Photo = []wirePhotoSize{
			{FileID: smallPhotoID(e.photo.fileID), FileUniqueID: e.photo.fileID + "s", Width: 90, Height: 90},
			{FileID: e.photo.fileID, FileUniqueID: e.photo.fileID + "m", Width: 800, Height: 800, FileSize: len(e.photo.data)},
		}
	}
	if e.document != nil {
		m.Document = &wireDocument{FileID: e.document.fileID, FileUniqueID: e.document.fileID + "u", FileName: e.document.name, MimeType: e.document.mimeType, FileSize: len(e.document.data)}
	}
	if e.sticker != "" {
		m.Sticker = &wireSticker{FileID: e.sticker, FileUniqueID: e.sticker + "u", Type: "regular", Width: 512, Height: 512, Emoji: "👍"}
	}
	if e.contact != nil {
		contact := *e.contact
		m.Contact = &contact
	}
	// Telegram returns only inline keyboards with a message; reply keyboards stay on the screen.
	if e.markup != nil && e.markup.inlineRaw != nil {
		m.ReplyMarkup = e.markup.inlineRaw
	}
	return m
}

// publicMessage renders a bot message for tests; call with s.mu held.
func publicMessage(chatID int64, e *entry) Message {
	m := Message{
		MessageID: e.id, ChatID: chatID, Method: e.method, Date: e.date, Text: e.text, Caption: e.caption,
		ParseMode: e.parseMode, Sticker: e.sticker, Edited: e.edited, Deleted: e.deleted,
	}
	if k := e.markup; k != nil {
		m.InlineKeyboard = k.inline
		m.ReplyKeyboard = k.reply
		m.OneTimeKeyboard = k.oneTime
		m.RemoveKeyboard = k.remove
		m.ForceReply = k.forceReply
	}
	if e.photo != nil {
		m.Photo, m.FileID, m.FileData = e.photo.name, e.photo.fileID, e.photo.data
	}
	if e.document != nil {
		m.Document, m.FileID, m.FileData = e.document.name, e.document.fileID, e.document.data
	}
	if e.contact != nil {
		m.Contact = e.contact.PhoneNumber
	}
	return m
}

// markup is a parsed reply_markup.
type markup struct {
	inline     [][]Button
	inlineRaw  json.RawMessage // canonical JSON, to compare edits and to return to the bot
	reply      [][]KeyboardButton
	oneTime    bool
	remove     bool
	forceReply bool
}

// isInlineAction tells the fields of which an inline button must have exactly one.
func isInlineAction(field string) bool {
	switch field {
	case "url", "callback_data", "web_app", "login_url", "switch_inline_query",
		"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay":
		return true
	}
	return false
}

// parseMarkup reads a reply_markup that has passed the description's checks and applies the rules
// the description cannot say: one action per inline button, callback_data of 1-64 bytes, button URLs.
func parseMarkup(v string) (*markup, *apiError) {
	if v == "" {
		return nil, nil
	}
	var obj struct {
		InlineKeyboard *[][]map[string]json.RawMessage `json:"inline_keyboard"`
		Keyboard       [][]json.RawMessage             `json:"keyboard"`
		OneTime        bool                            `json:"one_time_keyboard"`
		Remove         bool                            `json:"remove_keyboard"`
		ForceReply     bool                            `json:"force_reply"`
	}
	if err := json.Unmarshal([]byte(v), &obj); err != nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	m := &markup{oneTime: obj.OneTime, remove: obj.Remove, forceReply: obj.ForceReply}
	if obj.InlineKeyboard != nil {
		rows := *obj.InlineKeyboard
		m.inline = make([][]Button, 0, len(rows))
		for _, row := range rows {
			var out []Button
			for _, b := range row {
				btn, err := parseInlineButton(b)
				if err != nil {
					return nil, err
				}
				out = append(out, btn)
			}
			m.inline = append(m.inline, out)
		}
		if len(rows) > 0 { // an empty inline keyboard is no keyboard
			raw, err := json.Marshal(map[string]any{"inline_keyboard": rows})
			if err != nil {
				return nil, badRequest("can't parse inline keyboard")
			}
			m.inlineRaw = raw
		}
		return m, nil
	}
	for _, row := range obj.Keyboard {
		var out []KeyboardButton
		for _, raw := range row {
			var b KeyboardButton
			var text string
			if json.Unmarshal(raw, &text) == nil {
				b.Text = text
			} else {
				var kb struct {
					Text            string `json:"text"`
					RequestContact  bool   `json:"request_contact"`
					RequestLocation bool   `json:"request_location"`
				}
				if err := json.Unmarshal(raw, &kb); err != nil {
					return nil, badRequest("can't parse keyboard button")
				}
				b = KeyboardButton(kb)
			}
			if b.Text == "" {
				return nil, badRequest("keyboard button text is empty")
			}
			out = append(out, b)
		}
		m.reply = append(m.reply, out)
	}
	return m, nil
}

func parseInlineButton(b map[string]json.RawMessage) (Button, *apiError) {
	var btn Button
	if err := json.Unmarshal(b["text"], &btn.Text); err != nil || btn.Text == "" {
		return btn, badRequest("BUTTON_TEXT_INVALID")
	}
	actions := 0
	for field := range b {
		if isInlineAction(field) {
			actions++
		}
	}
	if actions != 1 {
		return btn, badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
	}
	if raw, ok := b["callback_data"]; ok {
		_ = json.Unmarshal(raw, &btn.CallbackData)
		if n := len(btn.CallbackData); n < 1 || n > maxCallbackDataSize {
			return btn, badRequest("BUTTON_DATA_INVALID")
		}
	}
	if raw, ok := b["url"]; ok {
		_ = json.Unmarshal(raw, &btn.URL)
		u, err := url.Parse(btn.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "tg") || (u.Scheme != "tg" && u.Host == "") {
			return btn, badRequest("BUTTON_URL_INVALID")
		}
	}
	return btn, nil
}

// sameInline tells whether two markups show the same inline keyboard.
func sameInline(a, b *markup) bool {
	var ra, rb json.RawMessage
	if a != nil {
		ra = a.inlineRaw
	}
	if b != nil {
		rb = b.inlineRaw
	}
	return string(ra) == string(rb)
}
