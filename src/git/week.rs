//! Review-branch names from a template and the ISO-8601 week of a UTC instant.
//!
//! No date crate: the calendar arithmetic works on days since the Unix epoch
//! (Howard Hinnant's `civil_from_days`/`days_from_civil`), which is exact for the
//! proleptic Gregorian calendar.

use super::GitError;

/// The default review-branch template: `image-updates/2026-w04`.
pub const DEFAULT_BRANCH_TEMPLATE: &str = "image-updates/{iso_year}-w{iso_week}";

/// Placeholders understood by [`weekly_branch_name`].
pub const PLACEHOLDERS: &[&str] = &["iso_year", "iso_week", "date"];

/// Expand a branch-name `template` for the UTC date of `now_unix_seconds`.
///
/// Placeholders: `{iso_year}` (ISO-8601 week-numbering year, e.g. `2026`),
/// `{iso_week}` (two-digit ISO week, `01`..`53`) and `{date}` (`YYYY-MM-DD`, UTC).
/// An unknown placeholder, an unbalanced brace or a result that is not a valid branch name
/// is an error.
pub fn weekly_branch_name(template: &str, now_unix_seconds: i64) -> Result<String, GitError> {
    let days = now_unix_seconds.div_euclid(86_400);
    let (iso_year, iso_week) = iso_week_of_days(days);
    let (year, month, day) = civil_from_days(days);
    let bad = |reason: String| GitError::Template {
        template: template.to_string(),
        reason,
    };

    let mut out = String::with_capacity(template.len() + 8);
    let mut rest = template;
    while let Some(pos) = rest.find(['{', '}']) {
        out.push_str(&rest[..pos]);
        if rest.as_bytes()[pos] == b'}' {
            return Err(bad(format!(
                "unmatched `}}` at byte {}",
                template.len() - rest.len() + pos
            )));
        }
        let after = &rest[pos + 1..];
        let Some(end) = after.find('}') else {
            return Err(bad("unclosed `{`".to_string()));
        };
        let name = &after[..end];
        match name {
            "iso_year" => out.push_str(&format!("{iso_year:04}")),
            "iso_week" => out.push_str(&format!("{iso_week:02}")),
            "date" => out.push_str(&format!("{year:04}-{month:02}-{day:02}")),
            other => {
                return Err(bad(format!(
                    "unknown placeholder `{{{other}}}` (known: {})",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(bad("the branch name is empty".to_string()));
    }
    super::validate_branch(&out)?;
    Ok(out)
}

/// ISO-8601 week-numbering year and week (1..=53) of the day `days` after 1970-01-01.
pub(crate) fn iso_week_of_days(days: i64) -> (i64, u32) {
    // 1970-01-01 was a Thursday; ISO weekday: Monday = 1 … Sunday = 7.
    let weekday = (days + 3).rem_euclid(7) + 1;
    // The Thursday of the same ISO week decides the week-year.
    let thursday = days - weekday + 4;
    let (year, _, _) = civil_from_days(thursday);
    let ordinal = thursday - days_from_civil(year, 1, 1); // 0-based day of year
    (year, (ordinal / 7 + 1) as u32)
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Proleptic Gregorian date of the day `days` after 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(year: i64, month: u32, day: u32) -> i64 {
        days_from_civil(year, month, day) * 86_400
    }

    fn weekly(year: i64, month: u32, day: u32) -> String {
        weekly_branch_name(DEFAULT_BRANCH_TEMPLATE, at(year, month, day) + 12 * 3600).unwrap()
    }

    #[test]
    fn civil_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for d in -800_000..800_000i64 {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
    }

    #[test]
    fn iso_weeks_at_year_boundaries() {
        assert_eq!(weekly(2026, 1, 20), "image-updates/2026-w04");
        assert_eq!(weekly(2027, 1, 1), "image-updates/2026-w53");
        assert_eq!(weekly(2026, 12, 31), "image-updates/2026-w53");
        assert_eq!(weekly(2024, 12, 30), "image-updates/2025-w01");
        assert_eq!(weekly(2026, 1, 1), "image-updates/2026-w01");
        assert_eq!(weekly(2021, 1, 3), "image-updates/2020-w53");
        assert_eq!(weekly(2021, 1, 4), "image-updates/2021-w01");
        assert_eq!(weekly(2027, 1, 4), "image-updates/2027-w01");
        assert_eq!(weekly(2008, 12, 29), "image-updates/2009-w01");
        assert_eq!(weekly(2010, 1, 3), "image-updates/2009-w53");
        assert_eq!(weekly(1970, 1, 1), "image-updates/1970-w01");
        assert_eq!(weekly(1969, 12, 28), "image-updates/1969-w52");
    }

    #[test]
    fn week_is_taken_in_utc() {
        // 2026-01-04 is a Sunday (w01); one second before Monday 2026-01-05 00:00 UTC.
        let monday = at(2026, 1, 5);
        assert_eq!(weekly_branch_name("{iso_week}", monday - 1).unwrap(), "01");
        assert_eq!(weekly_branch_name("{iso_week}", monday).unwrap(), "02");
    }

    #[test]
    fn matches_a_brute_force_count_of_thursdays() {
        // A week belongs to the year holding its Thursday; week n is the n-th such Thursday.
        for year in 1990..2060 {
            let first = days_from_civil(year, 1, 1);
            let last = days_from_civil(year + 1, 1, 1);
            let mut week = 0;
            for d in first..last {
                if (d + 3).rem_euclid(7) + 1 == 4 {
                    week += 1;
                    for day in d - 3..=d + 3 {
                        assert_eq!(iso_week_of_days(day), (year, week), "day {day}");
                    }
                }
            }
        }
    }

    #[test]
    fn date_placeholder_and_literals() {
        let t = at(2026, 3, 7) + 86_399;
        assert_eq!(
            weekly_branch_name("bot/{date}/x", t).unwrap(),
            "bot/2026-03-07/x"
        );
        assert_eq!(weekly_branch_name("plain", t).unwrap(), "plain");
        assert_eq!(
            weekly_branch_name("{iso_year}{iso_year}", t).unwrap(),
            "20262026"
        );
    }

    #[test]
    fn template_errors() {
        for bad in ["x/{week}", "x/{iso_year", "x/}", "{}", ""] {
            let err = weekly_branch_name(bad, 0).unwrap_err();
            assert!(matches!(err, GitError::Template { .. }), "{bad}: {err}");
        }
        assert!(matches!(
            weekly_branch_name("image updates/{iso_week}", 0),
            Err(GitError::InvalidBranchName { .. })
        ));
        let msg = weekly_branch_name("x/{week}", 0).unwrap_err().to_string();
        assert!(
            msg.contains("{week}") && msg.contains("{iso_week}"),
            "{msg}"
        );
    }
}
