//! XML Schema 1.1 `dateTimeStamp` values (the type of VCDM 2.0 `validFrom`/`validUntil`),
//! parsed strictly into [`UnixTime`].
//!
//! Spec: VCDM 2.0 §4.9 (Validity Period) and §5.8 (Representing Time) point to
//! XMLSCHEMA11-2 `dateTimeStamp`, whose lexical space is
//! `-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])`
//! `T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))`
//! `(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))`, plus the constraint (XSD 1.1 §3.3.7)
//! that the day exists in that month of the proleptic Gregorian calendar. The time zone is
//! required (that is what distinguishes `dateTimeStamp` from `dateTime`). `24:00:00` is the
//! first instant of the next day. Fractional seconds are dropped (the result is floored to
//! whole seconds, the resolution of [`UnixTime`]).

use crate::error::{Error, Result};
use crate::time::UnixTime;

/// The most year digits accepted (keeps arithmetic far from overflow; year 999,999,999).
const MAX_YEAR_DIGITS: usize = 9;

/// Parses an XML Schema `dateTimeStamp` (an RFC 3339-like timestamp with a mandatory
/// time zone) into seconds since the Unix epoch.
pub fn parse_date_time_stamp(text: &str) -> Result<UnixTime> {
    let bad = || Error::malformed("not an XML Schema dateTimeStamp");
    let mut c = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    let negative = c.eat(b'-');
    let year_digits = c.digits();
    if year_digits.len() < 4 || year_digits.len() > MAX_YEAR_DIGITS {
        return Err(bad());
    }
    // More than four digits may not start with 0 ("0[0-9]{3}" or "[1-9][0-9]{3,}").
    if year_digits.len() > 4 && year_digits[0] == b'0' {
        return Err(bad());
    }
    let year = number(year_digits);
    let year = if negative { -year } else { year };
    c.expect(b'-').ok_or_else(bad)?;
    let month = c.two_digits().ok_or_else(bad)?;
    c.expect(b'-').ok_or_else(bad)?;
    let day = c.two_digits().ok_or_else(bad)?;
    c.expect(b'T').ok_or_else(bad)?;
    let hour = c.two_digits().ok_or_else(bad)?;
    c.expect(b':').ok_or_else(bad)?;
    let minute = c.two_digits().ok_or_else(bad)?;
    c.expect(b':').ok_or_else(bad)?;
    let second = c.two_digits().ok_or_else(bad)?;
    let mut fraction_is_zero = true;
    if c.eat(b'.') {
        let frac = c.digits();
        if frac.is_empty() {
            return Err(bad());
        }
        fraction_is_zero = frac.iter().all(|&d| d == b'0');
    }
    let offset = match c.next() {
        Some(b'Z') => 0,
        Some(sign @ (b'+' | b'-')) => {
            let oh = c.two_digits().ok_or_else(bad)?;
            c.expect(b':').ok_or_else(bad)?;
            let om = c.two_digits().ok_or_else(bad)?;
            if !(oh <= 13 && om <= 59 || oh == 14 && om == 0) {
                return Err(bad());
            }
            let secs = oh * 3600 + om * 60;
            if sign == b'-' { -secs } else { secs }
        }
        _ => return Err(bad()),
    };
    if c.i != c.s.len() {
        return Err(bad());
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(bad());
    }
    let end_of_day = hour == 24 && minute == 0 && second == 0 && fraction_is_zero;
    if !end_of_day && (hour > 23 || minute > 59 || second > 59) {
        return Err(bad());
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset;
    Ok(UnixTime(secs))
}

/// Formats a time as a UTC `dateTimeStamp` (`YYYY-MM-DDThh:mm:ssZ`), the form issuers
/// should write (VCDM 2.0 §5.8 recommends the `Z` time zone).
pub fn format_date_time_stamp(t: UnixTime) -> String {
    let days = t.secs().div_euclid(86_400);
    let rem = t.secs().rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if y < 0 { "-" } else { "" };
    format!(
        "{sign}{:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        y.unsigned_abs(),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let b = self.s.get(self.i).copied();
        self.i += usize::from(b.is_some());
        b
    }
    fn eat(&mut self, want: u8) -> bool {
        if self.s.get(self.i) == Some(&want) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, want: u8) -> Option<()> {
        self.eat(want).then_some(())
    }
    fn digits(&mut self) -> &'a [u8] {
        let start = self.i;
        while self.s.get(self.i).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
        }
        &self.s[start..self.i]
    }
    fn two_digits(&mut self) -> Option<i64> {
        let a = *self.s.get(self.i).filter(|b| b.is_ascii_digit())?;
        let b = *self.s.get(self.i + 1).filter(|b| b.is_ascii_digit())?;
        self.i += 2;
        Some(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
    }
}

fn number(digits: &[u8]) -> i64 {
    digits
        .iter()
        .fold(0i64, |n, d| n * 10 + i64::from(d - b'0'))
}

fn is_leap(year: i64) -> bool {
    year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> i64 {
        parse_date_time_stamp(s).unwrap().secs()
    }

    #[test]
    fn vcdm_and_vc_jose_cose_example_values_parse() {
        // VCDM 2.0 §4.9 example and VC-JOSE-COSE Appendix A (fractional seconds).
        assert_eq!(p("2010-01-01T19:23:24Z"), 1_262_373_804);
        assert_eq!(p("2020-01-01T19:23:24Z"), 1_577_906_604);
        assert_eq!(p("2015-04-16T05:11:32.432Z"), 1_429_161_092);
        assert_eq!(p("1970-01-01T00:00:00Z"), 0);
        assert_eq!(p("1969-12-31T23:59:59Z"), -1);
    }

    #[test]
    fn offsets_are_applied() {
        // VCDM 2.0 §5.8 lists Z, +01:00, -08:00 and +14:00 as valid.
        assert_eq!(p("2024-07-12T12:00:00-07:00"), p("2024-07-12T19:00:00Z"));
        assert_eq!(p("2024-07-12T12:00:00+01:00"), p("2024-07-12T11:00:00Z"));
        assert_eq!(p("2024-01-01T00:00:00+14:00"), p("2023-12-31T10:00:00Z"));
        assert_eq!(p("2024-01-01T00:00:00-13:59"), p("2024-01-01T13:59:00Z"));
        assert_eq!(p("2024-01-01T00:00:00+00:00"), p("2024-01-01T00:00:00Z"));
        for bad in [
            "2024-01-01T00:00:00+14:01",
            "2024-01-01T00:00:00+15:00",
            "2024-01-01T00:00:00+01:60",
            "2024-01-01T00:00:00+0100",
            "2024-01-01T00:00:00+01",
        ] {
            assert!(parse_date_time_stamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert_eq!(
            p("2024-02-29T00:00:00Z"),
            p("2024-03-01T00:00:00Z") - 86_400
        );
        assert_eq!(p("2000-02-29T12:00:00Z"), 951_825_600);
        assert!(parse_date_time_stamp("2023-02-29T00:00:00Z").is_err());
        assert!(parse_date_time_stamp("1900-02-29T00:00:00Z").is_err());
        assert!(parse_date_time_stamp("2100-02-29T00:00:00Z").is_err());
        assert!(parse_date_time_stamp("2024-04-31T00:00:00Z").is_err());
        assert!(parse_date_time_stamp("2024-02-30T00:00:00Z").is_err());
    }

    #[test]
    fn end_of_day_24_00_is_next_midnight() {
        assert_eq!(p("2023-12-31T24:00:00Z"), p("2024-01-01T00:00:00Z"));
        assert_eq!(p("2023-12-31T24:00:00.000Z"), p("2024-01-01T00:00:00Z"));
        assert!(parse_date_time_stamp("2023-12-31T24:00:00.5Z").is_err());
        assert!(parse_date_time_stamp("2023-12-31T24:00:01Z").is_err());
        assert!(parse_date_time_stamp("2023-12-31T24:01:00Z").is_err());
    }

    #[test]
    fn timezone_is_required_and_other_forms_are_rejected() {
        for bad in [
            "2010-01-01T19:23:24",   // dateTime, not dateTimeStamp
            "2010-01-01",            // date only
            "2010-01-01 19:23:24Z",  // space separator
            "2010-01-01t19:23:24z",  // lower case
            "2010-1-01T19:23:24Z",   // one-digit month
            "10-01-01T19:23:24Z",    // two-digit year
            "02010-01-01T19:23:24Z", // leading zero on a 5-digit year
            "2010-01-01T19:23:60Z",  // leap second is not in the lexical space
            "2010-13-01T19:23:24Z",
            "2010-00-01T19:23:24Z",
            "2010-01-00T19:23:24Z",
            "2010-01-01T19:23:24.Z", // empty fraction
            "2010-01-01T19:23:24Z ", // trailing space
            " 2010-01-01T19:23:24Z",
            "2010-01-01T19:23:24+01:00Z",
            "+2010-01-01T19:23:24Z",
            "1234567890-01-01T00:00:00Z", // too many year digits
            "",
            "２０１０-01-01T19:23:24Z",
        ] {
            assert!(parse_date_time_stamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn fractions_are_floored_and_large_and_negative_years_work() {
        assert_eq!(
            p("2010-01-01T19:23:24.999999999999Z"),
            p("2010-01-01T19:23:24Z")
        );
        assert_eq!(p("10000-01-01T00:00:00Z"), 253_402_300_800);
        assert_eq!(p("0000-01-01T00:00:00Z"), -62_167_219_200);
        assert_eq!(p("-0001-01-01T00:00:00Z"), -62_198_755_200);
    }

    #[test]
    fn format_round_trips() {
        for s in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "1969-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ] {
            assert_eq!(format_date_time_stamp(UnixTime(p(s))), s);
        }
    }
}
