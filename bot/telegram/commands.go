package telegram

import (
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// DefaultCommandsLanguage is the language whose command list is also shown to users of any other
// language.
const DefaultCommandsLanguage = "vi"

// Command is one entry of the bot's command menu.
type Command struct {
	Name        string // 1-32 of a-z, 0-9 and _, without "/"
	Description string // 1-256 characters
}

// SetCommands sets the command menu for each language code in commands ("vi", "en"), and the
// DefaultCommandsLanguage list again without a language as the default (a "" key, when present,
// is the default instead). Invalid names or descriptions wrap chat.ErrRejected before any call.
func (a *Adapter) SetCommands(ctx context.Context, commands map[string][]Command) error {
	langs := make([]string, 0, len(commands))
	for lang, list := range commands {
		if err := validateCommands(lang, list); err != nil {
			return err
		}
		if lang != "" {
			langs = append(langs, lang)
		}
	}
	slices.Sort(langs)
	defaults, ok := commands[""]
	if !ok {
		defaults, ok = commands[DefaultCommandsLanguage]
	}
	for _, lang := range langs {
		if err := a.setMyCommands(ctx, lang, commands[lang]); err != nil {
			return err
		}
	}
	if ok {
		return a.setMyCommands(ctx, "", defaults)
	}
	return nil
}

func validateCommands(lang string, list []Command) error {
	if lang != "" && (len(lang) != 2 || strings.ContainsFunc(lang, func(r rune) bool { return r < 'a' || r > 'z' })) {
		return rejected("setMyCommands: language %q is not a two-letter ISO 639-1 code", lang)
	}
	if len(list) == 0 || len(list) > 100 {
		return rejected("setMyCommands %q: %d commands, Telegram takes 1 to 100", lang, len(list))
	}
	for _, c := range list {
		name := strings.TrimPrefix(c.Name, "/")
		if name == "" || len(name) > 32 || strings.ContainsFunc(name, func(r rune) bool {
			return !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z')
		}) {
			return rejected("setMyCommands %q: command name %q is not 1-32 of a-z, 0-9 and _", lang, c.Name)
		}
		if n := utf8.RuneCountInString(c.Description); n == 0 || n > 256 {
			return rejected("setMyCommands %q: description of %q is %d characters, Telegram takes 1 to 256", lang, c.Name, n)
		}
	}
	return nil
}

func (a *Adapter) setMyCommands(ctx context.Context, lang string, list []Command) error {
	cmds := make([]tgbotapi.BotCommand, 0, len(list))
	for _, c := range list {
		cmds = append(cmds, tgbotapi.BotCommand{Command: strings.TrimPrefix(c.Name, "/"), Description: c.Description})
	}
	cfg := tgbotapi.SetMyCommandsConfig{Commands: cmds, LanguageCode: lang}
	return a.call(ctx, a.httpTimeout, "setMyCommands", func(api *tgbotapi.BotAPI) (*tgbotapi.APIResponse, error) {
		return api.Request(cfg)
	})
}
