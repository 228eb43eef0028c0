//! Rate limits: how long the Hub asks a client to wait after a 429, and how long hfgit waits.
//!
//! The Hub counts requests in fixed 5-minute windows and answers a client over its quota with
//! `429 Too Many Requests` and `RateLimit: "api";r=0;t=<seconds until the window resets>` (plus
//! `RateLimit-Policy: "fixed window";"api";q=500;w=300`), not always with `Retry-After`
//! (hub-2026.md, row 12; IETF draft-ietf-httpapi-ratelimit-headers). So, as huggingface_hub's
//! `http_backoff` does, a 429 whose `RateLimit` says nothing is left (`r=0`) waits `t + 1`
//! seconds; otherwise `Retry-After` is obeyed, in seconds or as an HTTP date (RFC 9110 §10.2.3);
//! with neither, the wait doubles from one second.
//!
//! Waiting out a 429 is not a failed attempt: it is retried until the waits of that request add
//! up to [`MAX_WAIT_VARIABLE`] (default [`DEFAULT_MAX_WAIT`], five minutes: one whole window). A
//! wait that would pass that cap is not started: the caller raises a rate-limit error saying how
//! long the server asked to wait. Every wait is announced on the monitor (a warning, logged on
//! the `hfgit` logger, and a `rate-limited` progress phase counting the seconds) and ends within
//! a tenth of a second of a cancellation.

use std::time::{Duration, Instant, SystemTime};

use super::InvalidSetting;
use crate::progress::{Monitor, Phase};

/// The variable that caps how long one request (or one git fetch or push) waits for rate limits.
pub const MAX_WAIT_VARIABLE: &str = "HFGIT_RATE_LIMIT_MAX_WAIT";
/// Five minutes: the Hub's rate-limit window.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(300);
/// The first wait after a 429 that says nothing about when to come back; doubled after each.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The cap from `HFGIT_RATE_LIMIT_MAX_WAIT` (seconds; `0` means "never wait"), or the default.
pub fn max_wait_from_env() -> Result<Duration, InvalidSetting> {
    let Ok(value) = std::env::var(MAX_WAIT_VARIABLE) else {
        return Ok(DEFAULT_MAX_WAIT);
    };
    let value = value.trim();
    if value.is_empty() {
        return Ok(DEFAULT_MAX_WAIT);
    }
    match value.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && (0.0..1e9).contains(&seconds) => {
            Ok(Duration::from_secs_f64(seconds))
        }
        _ => Err(InvalidSetting {
            name: MAX_WAIT_VARIABLE,
            detail: format!(
                "{MAX_WAIT_VARIABLE} must be a number of seconds (0 or more), not {value:?}"
            ),
        }),
    }
}

/// `(remaining, seconds until reset)` from a `RateLimit` value such as `"api";r=0;t=55`.
pub fn parse_ratelimit(value: &str) -> Option<(u64, u64)> {
    let mut remaining = None;
    let mut reset = None;
    for parameter in value.split(';').skip(1) {
        let Some((key, number)) = parameter.split_once('=') else {
            continue;
        };
        let number = number.trim().parse::<u64>().ok();
        match key.trim() {
            "r" => remaining = number,
            "t" => reset = number,
            _ => {}
        }
    }
    Some((remaining?, reset?))
}

/// `Retry-After` as a wait from `now`: whole seconds, or an HTTP date (a date already past is no
/// wait at all). Anything else is ignored.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|byte| byte.is_ascii_digit()) {
        // Too long for u64 is far beyond any cap anyway.
        return Some(value.parse().map_or(Duration::MAX, Duration::from_secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait an answer asks for: for a 429, `RateLimit`'s reset time plus one second when nothing
/// is left, else `Retry-After`. `header` looks a header up by lower-case name.
pub fn requested_wait(status: u16, header: impl Fn(&str) -> Option<String>) -> Option<Duration> {
    if status == 429 {
        if let Some((0, reset)) = header("ratelimit").as_deref().and_then(parse_ratelimit) {
            return Some(Duration::from_secs(reset.saturating_add(1)));
        }
    }
    header("retry-after").and_then(|value| parse_retry_after(&value, SystemTime::now()))
}

/// Why waiting stops: the cap would be passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GiveUp {
    /// What the server asked for, if it said.
    pub retry_after: Option<Duration>,
    /// How long this request already waited.
    pub waited: Duration,
    /// The cap.
    pub max_wait: Duration,
}

/// How long one request has waited for rate limits, and may still wait.
#[derive(Debug, Clone)]
pub struct RateLimitBudget {
    max_wait: Duration,
    waited: Duration,
    backoff: Duration,
}

impl RateLimitBudget {
    pub fn new(max_wait: Duration) -> Self {
        Self {
            max_wait,
            waited: Duration::ZERO,
            backoff: FIRST_BACKOFF,
        }
    }

    /// The wait before trying again after a 429 that asked for `requested`, counted as waited;
    /// or [`GiveUp`] when it would take the total past the cap.
    pub fn next_wait(&mut self, requested: Option<Duration>) -> Result<Duration, GiveUp> {
        let wait = requested.unwrap_or(self.backoff);
        if requested.is_none() {
            self.backoff = self.backoff.saturating_mul(2);
        }
        let total = self.waited.saturating_add(wait);
        if total > self.max_wait {
            return Err(GiveUp {
                retry_after: requested,
                waited: self.waited,
                max_wait: self.max_wait,
            });
        }
        self.waited = total;
        Ok(wait)
    }
}

impl GiveUp {
    /// What to tell the user, after the server's own words `message` (may be empty).
    pub fn detail(&self, message: &str) -> String {
        let asked = match self.retry_after {
            Some(wait) => format!("asks to wait {} s", seconds(wait)),
            None => "did not say for how long".to_owned(),
        };
        let said = if message.trim().is_empty() {
            String::new()
        } else {
            format!(" ({})", message.trim().trim_end_matches('.'))
        };
        format!(
            "the server answered 429 Too Many Requests{said} and {asked}; hfgit waited {} s \
             for this request already, and {MAX_WAIT_VARIABLE} allows {} s. Try again later, or \
             raise {MAX_WAIT_VARIABLE}; requests made with a token (HF_TOKEN) get higher limits",
            seconds(self.waited),
            seconds(self.max_wait),
        )
    }
}

/// Whole seconds, rounded up, for messages.
pub fn seconds(duration: Duration) -> u64 {
    let whole = duration.as_secs();
    if duration.subsec_nanos() > 0 {
        whole + 1
    } else {
        whole
    }
}

/// Wait `wait` after a 429 met while `during`, announcing it, and return early with `false` when
/// `stop()` says so (checked every 100 ms). The progress phase is `rate-limited`, counting seconds.
pub fn wait_out(monitor: &Monitor, wait: Duration, during: &str, stop: impl Fn() -> bool) -> bool {
    const SLICE: Duration = Duration::from_millis(100);
    let total = seconds(wait);
    monitor.warning(format!(
        "rate limited by the Hub, waiting {total} s before trying again (HTTP 429 while {during}; \
         {MAX_WAIT_VARIABLE} caps the waits of one request)"
    ));
    let started = Instant::now();
    let deadline = started + wait;
    loop {
        if stop() {
            return false;
        }
        let now = Instant::now();
        monitor.report(
            Phase::RateLimited,
            (now - started).as_secs().min(total),
            total,
            0,
        );
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(SLICE));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn ratelimit_values_are_read_as_the_hub_sends_them() {
        assert_eq!(parse_ratelimit(r#""api";r=0;t=55"#), Some((0, 55)));
        assert_eq!(parse_ratelimit(r#""resolvers"; r=12 ; t=7"#), Some((12, 7)));
        assert_eq!(parse_ratelimit(r#""api";t=3;r=1"#), Some((1, 3)));
        assert_eq!(parse_ratelimit(r#""api";r=0"#), None);
        assert_eq!(parse_ratelimit("junk"), None);
    }

    #[test]
    fn a_429_with_nothing_left_waits_for_the_window_plus_a_second() {
        let hub = [
            ("RateLimit", r#""api";r=0;t=120"#),
            ("RateLimit-Policy", r#""fixed window";"api";q=500;w=300"#),
        ];
        assert_eq!(
            requested_wait(429, headers(&hub)),
            Some(Duration::from_secs(121))
        );
        // Retry-After is the fallback, and what other statuses are read for.
        let both = [("RateLimit", r#""api";r=4;t=120"#), ("Retry-After", "7")];
        assert_eq!(
            requested_wait(429, headers(&both)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            requested_wait(503, headers(&[("RateLimit", r#""api";r=0;t=9"#)])),
            None
        );
        assert_eq!(requested_wait(429, headers(&[])), None);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT").unwrap();
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        for date in [
            "Wed, 21 Oct 2015 07:30:00 GMT",
            "Wednesday, 21-Oct-15 07:30:00 GMT",
            "Wed Oct 21 07:30:00 2015",
        ] {
            assert_eq!(
                parse_retry_after(date, now),
                Some(Duration::from_secs(120)),
                "{date}"
            );
        }
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for junk in ["", "1.5", "-1", "5s", "soon"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::MAX)
        );
    }

    #[test]
    fn the_budget_waits_as_asked_or_doubling_until_the_cap() {
        let mut budget = RateLimitBudget::new(Duration::from_secs(10));
        let waits: Vec<u64> = (0..3)
            .map(|_| budget.next_wait(None).unwrap().as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4]);
        assert_eq!(
            budget.next_wait(Some(Duration::from_secs(3))),
            Ok(Duration::from_secs(3))
        );
        let give_up = budget.next_wait(Some(Duration::from_secs(1))).unwrap_err();
        assert_eq!(give_up.retry_after, Some(Duration::from_secs(1)));
        assert_eq!(give_up.waited, Duration::from_secs(10));

        let mut never = RateLimitBudget::new(Duration::ZERO);
        assert!(never.next_wait(Some(Duration::ZERO)).is_ok());
        assert!(never.next_wait(None).is_err());
    }

    #[test]
    fn a_wait_is_announced_and_stops_when_asked() {
        let monitor = Monitor::new();
        let started = Instant::now();
        assert!(!wait_out(
            &monitor,
            Duration::from_secs(30),
            "testing",
            || { started.elapsed() > Duration::from_millis(150) }
        ));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(monitor.snapshot().phase, Phase::RateLimited);
        assert_eq!(monitor.snapshot().total, 30);
        let warnings = monitor.take_warnings();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("rate limited by the Hub, waiting 30 s"),
            "{warnings:?}"
        );
        assert!(wait_out(
            &monitor,
            Duration::from_millis(10),
            "testing",
            || false
        ));
    }
}
