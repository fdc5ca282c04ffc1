package app

import (
	"slices"
	"testing"
)

// Administrators come from ADMIN_TELEGRAM_IDS (Telegram ids, as before) and ADMINS (channel:id),
// each once, and count only on their own channel.
func TestLoadConfig_Admins(t *testing.T) {
	env := map[string]string{"ADMIN_TELEGRAM_IDS": "123, 456", "ADMINS": "telegram:123,zalo:7213456789012345678"}
	cfg, err := LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"telegram:123", "telegram:456", "zalo:7213456789012345678"}
	if !slices.Equal(cfg.admins, want) {
		t.Errorf("admins = %v, want %v", cfg.admins, want)
	}
	if !cfg.isAdmin("zalo", "7213456789012345678") || cfg.isAdmin("telegram", "7213456789012345678") || cfg.isAdmin("zalo", "123") {
		t.Error("an administrator counted on another channel")
	}
	if cfg.zaloOn() || cfg.telegramOn() {
		t.Error("channels on without their settings")
	}
}
