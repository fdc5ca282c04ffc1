// Package campaign is the domain of the "Sóng và máy tính cho em" device campaign: the campaign
// configuration (wards, target, schedule), students and their registrations, coded errors, text
// normalisation, and the store interfaces that the storage packages implement. It does no I/O.
package campaign
