//go:build !serveonly

package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/thuduc/maytinhchoem/campaign"
)

// The load test runs the default campaign (Thủ Đức 2021) today. Families may register only inside
// the campaign's registration window, so the load test's copy of the campaign has its window moved
// to span today (from yesterday to a month ahead); everything else, the school year its robots'
// children are checked against included, is the default's.

// loadtestCampaignFile returns the default campaign file with its registration window around now.
func loadtestCampaignFile(now time.Time) ([]byte, fs.FS, error) {
	b, dir := campaign.DefaultSource()
	var f map[string]any
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, nil, err
	}
	loc, err := time.LoadLocation(fmt.Sprint(f["time_zone"]))
	if err != nil {
		return nil, nil, err
	}
	today := now.In(loc)
	f["registration_open"] = today.AddDate(0, 0, -1).Format(campaign.DateLayout)
	f["registration_close"] = today.AddDate(0, 1, 0).Format(campaign.DateLayout)
	out, err := json.MarshalIndent(f, "", "  ")
	return out, dir, err
}

// loadtestCampaign is the campaign an in-process load test runs.
func loadtestCampaign(now time.Time) (*campaign.Campaign, error) {
	b, dir, err := loadtestCampaignFile(now)
	if err != nil {
		return nil, err
	}
	return campaign.Parse(b, dir)
}

// writeLoadtestCampaign writes the load test's campaign, with its wards, into dir and returns the
// file's path, for replicas started as processes (CAMPAIGN_FILE).
func writeLoadtestCampaign(dir string, now time.Time) (string, error) {
	b, src, err := loadtestCampaignFile(now)
	if err != nil {
		return "", err
	}
	var f struct {
		WardsCSV string `json:"wards_csv"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return "", err
	}
	wards, err := fs.ReadFile(src, f.WardsCSV)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, f.WardsCSV), wards, 0o644); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "campaign.json")
	return path, os.WriteFile(path, b, 0o644)
}
