package flows

import (
	"strconv"
	"strings"

	"github.com/thuduc/maytinhchoem/campaign"
)

// Items are kept in State.Answers one key per item, itemPrefix + "1", "2", ... numbered from 1
// without gaps, each a compact "|"-separated line:
//
//	device:            <kind>|new|<quantity>|complete   laptop|used|2|complete, desktop|new|1|parts
//	SIM 4G, USB Wi-Fi: <kind>|<quantity>                sim_4g|500
//	internet package:  internet_package|<quantity>|<months>   internet_package|200|6
//	money:             money|<VND>                      money|5000000
//
// "parts" marks devices the donor said do not connect or lack charger and cables (or, for a
// desktop, a part of the set): they are taken and flagged as needing parts.
const itemPrefix = "item."

// encodeItem writes an item in its State.Answers form (see itemPrefix).
func encodeItem(it campaign.PledgeItem) string {
	k := string(it.Kind)
	switch {
	case it.Kind.IsDevice():
		cond, compl := condNew, itemComplete
		if it.Used {
			cond = condUsed
		}
		if !it.Complete {
			compl = itemParts
		}
		return k + "|" + cond + "|" + strconv.Itoa(it.Quantity) + "|" + compl
	case it.Kind == campaign.ItemInternetPackage:
		return k + "|" + strconv.Itoa(it.Quantity) + "|" + strconv.Itoa(it.Months)
	case it.Kind == campaign.ItemMoney:
		return k + "|" + strconv.FormatInt(it.Amount, 10)
	}
	return k + "|" + strconv.Itoa(it.Quantity)
}

// decodeItem reads an item written by encodeItem; ok is false for anything else.
func decodeItem(s string) (campaign.PledgeItem, bool) {
	p := strings.Split(s, "|")
	it := campaign.PledgeItem{Kind: campaign.ItemKind(p[0])}
	num := func(i, most int) (int, bool) {
		n, err := strconv.Atoi(p[i])
		return n, err == nil && n >= 1 && n <= most
	}
	var ok bool
	switch {
	case it.Kind.IsDevice():
		if len(p) != 4 || (p[1] != condNew && p[1] != condUsed) || (p[3] != itemComplete && p[3] != itemParts) {
			return it, false
		}
		it.Used, it.Complete = p[1] == condUsed, p[3] == itemComplete
		it.Quantity, ok = num(2, deviceQuantityMax)
		return it, ok
	case it.Kind == campaign.ItemInternetPackage:
		if len(p) != 3 {
			return it, false
		}
		var okMonths bool
		it.Quantity, ok = num(1, stockQuantityMax)
		it.Months, okMonths = num(2, monthsMax)
		return it, ok && okMonths
	case it.Kind == campaign.ItemSIM4G, it.Kind == campaign.ItemUSBWiFi:
		if len(p) != 2 {
			return it, false
		}
		it.Quantity, ok = num(1, stockQuantityMax)
		return it, ok
	case it.Kind == campaign.ItemMoney:
		if len(p) != 2 {
			return it, false
		}
		n, err := strconv.ParseInt(p[1], 10, 64)
		it.Amount = n
		return it, err == nil && n > 0
	}
	return it, false
}

// itemKey is the answer key of item n (from 1): "item.1".
func itemKey(n int) string { return itemPrefix + strconv.Itoa(n) }

// removeValue is the button value that removes item n, stored as enc. It names the item, so a
// button left from before another removal (when the numbers have moved) is refused as stale.
// The longest, "!rm=10=internet_package|100000|36", keeps the data far under 64 bytes.
func removeValue(n int, enc string) string {
	return ctlItemRemove + strconv.Itoa(n) + "=" + enc
}

// itemCount is how many items the answers hold (item.1 ... item.N without a gap).
func itemCount(a map[string]string) int {
	n := 0
	for a[itemKey(n+1)] != "" {
		n++
	}
	return n
}

// itemAt returns item n (from 1).
func itemAt(a map[string]string, n int) (campaign.PledgeItem, bool) {
	if n < 1 || n > itemCount(a) {
		return campaign.PledgeItem{}, false
	}
	return decodeItem(a[itemKey(n)])
}

// pledgeItems returns the items in order; ok is false when one is unreadable.
func pledgeItems(a map[string]string) ([]campaign.PledgeItem, bool) {
	var items []campaign.PledgeItem
	for i := range itemCount(a) {
		it, ok := decodeItem(a[itemKey(i+1)])
		if !ok {
			return nil, false
		}
		items = append(items, it)
	}
	return items, true
}

// removeItem drops item n and renumbers those after it.
func (c pledgeTurn) removeItem(n int) {
	a := c.st.Answers
	last := itemCount(a)
	for i := n; i < last; i++ {
		a[itemKey(i)] = a[itemKey(i+1)]
	}
	delete(a, itemKey(last))
}

// clearDraft forgets the item being added.
func (c pledgeTurn) clearDraft() {
	for _, s := range itemSteps {
		delete(c.st.Answers, s)
	}
}

// commitItem adds the item being asked about to the list once every question about it is
// answered, and asks "another, or done?" next.
func (c pledgeTurn) commitItem(f *form) {
	a := c.st.Answers
	if a[stepItemKind] == "" {
		return
	}
	for _, s := range itemSteps {
		if fld := f.field(s); fld.isNeeded(a) && a[s] == "" {
			return
		}
	}
	it := campaign.PledgeItem{Kind: campaign.ItemKind(a[stepItemKind])}
	it.Used = a[stepItemCondition] == condUsed
	it.Complete = a[stepItemComplete] == answerYes
	it.Quantity, _ = strconv.Atoi(a[stepItemQuantity])
	it.Months, _ = strconv.Atoi(a[stepItemMonths])
	it.Amount, _ = strconv.ParseInt(a[stepItemAmount], 10, 64)
	c.clearDraft()
	enc := encodeItem(it)
	if _, ok := decodeItem(enc); !ok {
		return // a draft from another version: ask for the item again
	}
	a[itemKey(itemCount(a)+1)] = enc
	delete(a, stepItems)
	c.lead = c.t("pledge.item.added", "Item", c.itemText(it))
	if it.Kind.IsDevice() && !it.Complete {
		c.lead += "\n" + c.t("pledge.item.parts_note")
	}
}

// itemText is one item in words: "2 × Laptop (used)".
func (c pledgeTurn) itemText(it campaign.PledgeItem) string {
	k := c.kindName(it.Kind)
	switch {
	case it.Kind.IsDevice():
		cond := c.t("pledge.item_condition.new")
		if it.Used {
			cond = c.t("pledge.item_condition.used")
		}
		cond = strings.ToLower(withoutSymbols(cond))
		if !it.Complete {
			return c.t("pledge.item.device_parts", "Quantity", c.count(it.Quantity), "Kind", k, "Condition", cond)
		}
		return c.t("pledge.item.device", "Quantity", c.count(it.Quantity), "Kind", k, "Condition", cond)
	case it.Kind == campaign.ItemInternetPackage:
		return c.t("pledge.item.package", "Quantity", c.count(it.Quantity), "Kind", k, "Count", it.Months)
	case it.Kind == campaign.ItemMoney:
		return c.t("pledge.item.money", "Kind", k, "Amount", campaign.FormatVND(it.Amount))
	}
	return c.t("pledge.item.stock", "Quantity", c.count(it.Quantity), "Kind", k)
}

// itemLines lists the items, numbered.
func (c pledgeTurn) itemLines() string {
	var lines []string
	for i := range itemCount(c.st.Answers) {
		it, ok := itemAt(c.st.Answers, i+1)
		if !ok {
			continue
		}
		lines = append(lines, strconv.Itoa(i+1)+". "+c.itemText(it))
	}
	return strings.Join(lines, "\n")
}

// itemList is the items under a title, for the "another, or done?" question.
func (c pledgeTurn) itemList() string {
	return c.t("pledge.items.title") + "\n" + c.itemLines()
}
