package telegram

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/thuduc/maytinhchoem/chat"
)

// ParseUpdate maps one Bot API Update, as JSON, to an Input. ok is false for updates the bot does
// not act on (channel posts, inline queries, a user blocking the bot, which goes to OnBlocked,
// updates without a chat). err is set only when raw is not JSON of an update.
func (a *Adapter) ParseUpdate(raw []byte) (in chat.Update, ok bool, err error) {
	u, err := decodeUpdate(raw)
	if err != nil {
		return chat.Update{}, false, err
	}
	if u == nil {
		return chat.Update{}, false, nil
	}
	in, ok = a.toInput(u)
	return in, ok, nil
}

// decodeUpdate decodes one update. An update that is JSON with an update_id but that the library
// cannot decode (a field of an unexpected type) comes back nil without an error, to be skipped:
// refusing it would make Telegram redeliver it, or a poller fetch it, forever.
func decodeUpdate(raw []byte) (*tgbotapi.Update, error) {
	var u tgbotapi.Update
	err := json.Unmarshal(raw, &u)
	if err == nil {
		return &u, nil
	}
	var id struct {
		UpdateID *int `json:"update_id"`
	}
	if json.Unmarshal(raw, &id) == nil && id.UpdateID != nil {
		return nil, nil
	}
	return nil, fmt.Errorf("telegram: decode update: %w", err)
}

// toInput maps an update; see ParseUpdate. It never panics on missing parts.
func (a *Adapter) toInput(u *tgbotapi.Update) (chat.Update, bool) {
	in := chat.Update{Channel: Channel, Received: a.now()}
	in.UpdateID = strconv.Itoa(u.UpdateID)
	switch {
	case u.Message != nil:
		return a.fromMessage(in, u.Message, false)
	case u.EditedMessage != nil:
		return a.fromMessage(in, u.EditedMessage, true)
	case u.CallbackQuery != nil:
		return a.fromCallback(in, u.CallbackQuery)
	case u.MyChatMember != nil:
		a.noteMembership(u.MyChatMember)
	}
	return chat.Update{}, false
}

func (a *Adapter) fromMessage(in chat.Update, m *tgbotapi.Message, edited bool) (chat.Update, bool) {
	if m.Chat == nil || m.Chat.ID == 0 || !a.chatAllowed(m.Chat) {
		return chat.Update{}, false
	}
	in.ChatID = strconv.FormatInt(m.Chat.ID, 10)
	in.MessageID = strconv.Itoa(m.MessageID)
	setSender(&in, m.From)
	switch {
	case edited:
		in.Kind = chat.KindEdited
		in.Text = m.Text
		if in.Text == "" {
			in.Text = m.Caption
		}
	case m.Contact != nil:
		in.Kind = chat.KindContact
		c := &chat.Contact{
			Phone: m.Contact.PhoneNumber,
			Name:  strings.TrimSpace(m.Contact.FirstName + " " + m.Contact.LastName),
		}
		if m.Contact.UserID != 0 {
			c.UserID = strconv.FormatInt(m.Contact.UserID, 10)
		}
		in.Contact = c
	case m.Text != "":
		in.Text = m.Text
		in.Kind = chat.KindText
		if cmd, args, ok := a.parseCommand(m.Text, m.Entities); ok {
			in.Kind = chat.KindCommand
			in.Command, in.Args = cmd, args
		}
	default:
		// A photo, sticker, voice note, document, location...: the flows only say what they expect,
		// but take a photo's file_id, which a volunteer's proof of delivery is, and a document's
		// (a list of children).
		in.Kind = chat.KindOther
		in.Text = m.Caption
		in.PhotoID = largestPhoto(m.Photo)
		if d := m.Document; d != nil && d.FileID != "" {
			in.Document = &chat.Document{Name: d.FileName, Size: int64(d.FileSize), FileID: d.FileID}
		}
	}
	return in, true
}

// largestPhoto is the file_id of the largest of a photo's sizes, "" when there are none. Telegram
// lists them smallest first, but the size is what counts.
func largestPhoto(sizes []tgbotapi.PhotoSize) string {
	id, area := "", -1
	for _, p := range sizes {
		if p.FileID != "" && p.Width*p.Height >= area {
			id, area = p.FileID, p.Width*p.Height
		}
	}
	return id
}

func (a *Adapter) fromCallback(in chat.Update, q *tgbotapi.CallbackQuery) (chat.Update, bool) {
	switch {
	case q.Message != nil && q.Message.Chat != nil && q.Message.Chat.ID != 0:
		if !a.chatAllowed(q.Message.Chat) {
			return chat.Update{}, false
		}
		in.ChatID = strconv.FormatInt(q.Message.Chat.ID, 10)
		in.MessageID = strconv.Itoa(q.Message.MessageID)
	case q.From != nil && q.From.ID != 0:
		// The message is gone or was sent inline: the user's private chat has the user's id.
		in.ChatID = strconv.FormatInt(q.From.ID, 10)
	default:
		return chat.Update{}, false
	}
	setSender(&in, q.From)
	in.Kind = chat.KindChoice
	in.Data = q.Data
	in.AckID = q.ID
	return in, true
}

// noteMembership reports a user blocking the bot to the OnBlocked hook.
func (a *Adapter) noteMembership(m *tgbotapi.ChatMemberUpdated) {
	if m.NewChatMember.Status != "kicked" || m.Chat.ID == 0 {
		return
	}
	chatID := strconv.FormatInt(m.Chat.ID, 10)
	a.log.Info("telegram: bot blocked", "chat", chatID)
	if fn := a.onBlocked.Load(); fn != nil {
		(*fn)(chatID)
	}
}

func (a *Adapter) chatAllowed(c *tgbotapi.Chat) bool {
	if a.allowGroups {
		return true
	}
	switch c.Type {
	case "group", "supergroup", "channel":
		return false
	}
	return true
}

func setSender(in *chat.Update, from *tgbotapi.User) {
	if from == nil || from.ID == 0 {
		return
	}
	in.UserID = strconv.FormatInt(from.ID, 10)
	in.ClientLanguage = from.LanguageCode
	in.UserName = strings.TrimSpace(from.FirstName + " " + from.LastName)
}

// parseCommand reads a leading "/command[@bot] args". Telegram marks it with a bot_command entity
// whose length counts UTF-16 units; without one (an emulator, a client that sends none) the text is
// read by Telegram's own rule for commands. A command addressed to another bot is not a command.
func (a *Adapter) parseCommand(text string, entities []tgbotapi.MessageEntity) (command, args string, ok bool) {
	var head, rest string
	for _, e := range entities {
		if e.Type != "bot_command" || e.Offset != 0 {
			continue
		}
		units := utf16.Encode([]rune(text))
		if e.Length >= 2 && e.Length <= len(units) {
			head = string(utf16.Decode(units[:e.Length]))
			rest = string(utf16.Decode(units[e.Length:]))
		}
		break
	}
	if head == "" {
		head, rest = splitCommand(text)
	}
	name, ok := strings.CutPrefix(head, "/")
	if !ok {
		return "", "", false
	}
	name, target, addressed := strings.Cut(name, "@")
	if addressed && a.username != "" && !strings.EqualFold(target, a.username) {
		return "", "", false
	}
	if name == "" {
		return "", "", false
	}
	return strings.ToLower(name), strings.TrimSpace(rest), true
}

// splitCommand finds "/name" or "/name@bot" (name: 1-32 of A-Za-z0-9_) at the start of text,
// followed by white space or the end; head is "" when there is none.
func splitCommand(text string) (head, rest string) {
	if !strings.HasPrefix(text, "/") {
		return "", ""
	}
	end := 1
	for end < len(text) && isCommandByte(text[end]) {
		end++
	}
	if end == 1 || end-1 > 32 {
		return "", ""
	}
	if end < len(text) && text[end] == '@' {
		at := end + 1
		end = at
		for end < len(text) && isCommandByte(text[end]) {
			end++
		}
		if end == at {
			return "", ""
		}
	}
	if end < len(text) && !strings.ContainsRune(" \t\r\n", rune(text[end])) {
		return "", ""
	}
	return text[:end], text[end:]
}

func isCommandByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
