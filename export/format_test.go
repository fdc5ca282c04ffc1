package export

import (
	"testing"

	"github.com/thuduc/maytinhchoem/campaign"
	"github.com/thuduc/maytinhchoem/locales"
)

// TestLabels_Complete fails when the campaign gains a code that exports would write raw.
func TestLabels_Complete(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	vietnamese := func(id string) bool {
		s, err := cat.Text(locales.VI, id, nil)
		return id != "" && err == nil && s != ""
	}
	check := func(name string, labels map[string]string, codes ...string) {
		t.Helper()
		for _, c := range codes {
			if !vietnamese(labels[c]) {
				t.Errorf("%s %q has no Vietnamese label", name, c)
			}
		}
	}
	check("registration status", registrationStatusLabels, strs(campaign.RegistrationStatuses)...)
	check("reject reason", rejectReasonLabels, strs(campaign.RejectReasons)...)
	check("level", levelLabels, strs(campaign.SchoolLevels)...)
	check("circumstance", circumstanceLabels, strs(campaign.Circumstances)...)
	check("situation", situationLabels, strs(campaign.DeviceSituations)...)
	check("need", needLabels, strs(campaign.Needs)...)
	check("device type", deviceTypeLabels, strs(campaign.DeviceTypes)...)
	check("device state", deviceStateLabels, strs(campaign.DeviceStates)...)
	check("stock", stockLabels, strs(campaign.StockKinds)...)
	check("donor kind", donorKindLabels, strs(campaign.DonorKinds)...)
	check("fail reason", failReasonLabels, append(strs(campaign.FailReasons), string(campaign.FailNotReceived))...)
	check("pledge status", pledgeStatusLabels, "pledged", "partly", "received", "cancelled")
	check("delivery method", deliveryMethodLabels, "ward_office", "front", "pickup")
	check("delivery status", deliveryStatusLabels, "pending", "delivered", "confirmed")
	check("handover", handoverLabels, "home", "school")
	check("staff role", staffRoleLabels, append(strs(campaign.StaffRoles), string(campaign.RoleAdmin))...)
	for _, k := range campaign.ItemKinds {
		if k != campaign.ItemMoney && !vietnamese(itemNouns[k]) {
			t.Errorf("item kind %q has no noun", k)
		}
	}
}

func strs[T ~string](list []T) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

func TestItemsSummary(t *testing.T) {
	w, err := wordsIn(locales.VI)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		items []campaign.PledgeItem
		want  string
	}{
		{nil, ""},
		{[]campaign.PledgeItem{{Kind: campaign.ItemLaptop, Quantity: 2, Used: true, Complete: true}, {Kind: campaign.ItemSIM4G, Quantity: 500}, {Kind: campaign.ItemMoney, Amount: 5_000_000}},
			"2 laptop (đã qua sử dụng); 500 SIM 4G; 5.000.000 đ"},
		{[]campaign.PledgeItem{{Kind: campaign.ItemTablet, Quantity: 1, Complete: true}}, "1 máy tính bảng"},
		{[]campaign.PledgeItem{{Kind: campaign.ItemDesktop, Quantity: 3, Used: true}}, "3 bộ máy tính để bàn (đã qua sử dụng, chưa đủ phụ kiện)"},
		{[]campaign.PledgeItem{{Kind: campaign.ItemInternetPackage, Quantity: 1200, Months: 6}}, "1.200 gói cước Internet 6 tháng"},
	} {
		if got := w.itemsSummary(c.items); got != c.want {
			t.Errorf("itemsSummary(%+v) = %q, want %q", c.items, got, c.want)
		}
	}
}

func TestNeutralizeFormula(t *testing.T) {
	for in, want := range map[string]string{
		"":                   "",
		"Nguyễn Văn An":      "Nguyễn Văn An",
		"=1+1":               "'=1+1",
		"@SUM(A1)":           "'@SUM(A1)",
		"+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
		"-2+3+cmd|x":         "'-2+3+cmd|x",
		"+84903123456":       "+84903123456",
		"+8490*****456":      "+8490*****456",
		"-5":                 "-5",
		"\t=1":               "'\t=1",
	} {
		if got := neutralizeFormula(in); got != want {
			t.Errorf("neutralizeFormula(%q) = %q, want %q", in, got, want)
		}
	}
}
