package telegram

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// SendProgress sends text as a new message without buttons and returns its id, to be edited
// with EditProgress as a long step goes on (bot.ProgressEditor). Text over Telegram's limit is
// cut. Errors are those of Send.
func (a *Adapter) SendProgress(ctx context.Context, chatID, text string) (string, error) {
	id, err := parseChatID(chatID)
	if err != nil {
		return "", err
	}
	text = truncateUnits(strings.TrimSpace(text), maxTextUnits)
	if text == "" {
		return "", rejected("a progress message has no text")
	}
	msg := tgbotapi.NewMessage(id, text)
	resp, err := a.callResult(ctx, a.httpTimeout, "sendMessage", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(msg)
	})
	if err != nil {
		return "", err
	}
	var sent struct {
		MessageID int `json:"message_id"`
	}
	if err := json.Unmarshal(resp.Result, &sent); err != nil || sent.MessageID == 0 {
		return "", rejected("sendMessage answered no message_id")
	}
	return strconv.Itoa(sent.MessageID), nil
}

// EditProgress replaces the text of a message SendProgress sent. A message that can no longer be
// edited (deleted, too old) wraps chat.ErrRejected; an edit to the text the message already shows
// is not made (Telegram refuses it: "message is not modified") and is no error, so the caller must
// not rely on it to tell texts apart either.
func (a *Adapter) EditProgress(ctx context.Context, chatID, messageID, text string) error {
	id, err := parseChatID(chatID)
	if err != nil {
		return err
	}
	msgID, err := strconv.Atoi(messageID)
	if err != nil || msgID <= 0 {
		return rejected("message id %q is not a Telegram message id", messageID)
	}
	text = truncateUnits(strings.TrimSpace(text), maxTextUnits)
	if text == "" {
		return rejected("a progress message has no text")
	}
	edited, err := a.editText(ctx, id, msgID, text, nil)
	if err == nil && !edited {
		return rejected("message %d cannot be edited", msgID)
	}
	return err
}
