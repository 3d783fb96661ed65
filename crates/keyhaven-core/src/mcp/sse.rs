//! Server-sent events as the MCP Streamable HTTP transport sends them (the WHATWG
//! `text/event-stream` format): `data:` lines joined by newlines, `id:` for resuming with
//! `Last-Event-ID`, `retry:` for the reconnection delay, `:` comments ignored, an empty line
//! ending the event.

use std::io::{BufRead, Read};

/// One event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    /// `event:` (`message` when absent).
    pub event: Option<String>,
    /// The data lines, joined by `\n`.
    pub data: String,
    /// The last event id seen so far in the stream (it carries over events without one).
    pub id: Option<String>,
    /// `retry:` milliseconds, when this event set it.
    pub retry: Option<u64>,
}

/// Reads events from a response body, one at a time, no line or event longer than `max` bytes.
pub struct Reader<R> {
    input: R,
    max: usize,
    last_id: Option<String>,
}

impl<R: BufRead> Reader<R> {
    /// Events of `input`.
    pub fn new(input: R, max: usize) -> Self {
        Self {
            input,
            max,
            last_id: None,
        }
    }

    /// The next event; `Ok(None)` at the end of the stream.
    pub fn next_event(&mut self) -> std::io::Result<Option<Event>> {
        let mut ev = Event::default();
        let mut has_data = false;
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = self
                .input
                .by_ref()
                .take(self.max as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                // End of stream: an unfinished event is dropped, as the format says.
                return Ok(None);
            }
            if line.len() > self.max {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("an event line is larger than {} bytes", self.max),
                ));
            }
            while matches!(line.last(), Some(b'\n' | b'\r')) {
                line.pop();
            }
            if line.is_empty() {
                if has_data {
                    ev.id = self.last_id.clone();
                    return Ok(Some(ev));
                }
                ev = Event::default();
                continue;
            }
            let text = String::from_utf8_lossy(&line);
            if text.starts_with(':') {
                continue;
            }
            let (field, value) = match text.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (text.as_ref(), ""),
            };
            match field {
                "data" => {
                    if has_data {
                        ev.data.push('\n');
                    }
                    if ev.data.len() + value.len() > self.max {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            format!("an event is larger than {} bytes", self.max),
                        ));
                    }
                    ev.data.push_str(value);
                    has_data = true;
                }
                "event" => ev.event = Some(value.to_string()),
                "id" if !value.contains('\0') => self.last_id = Some(value.to_string()),
                "retry" => ev.retry = value.parse().ok(),
                _ => {}
            }
        }
    }

    /// The last event id the stream gave (for `Last-Event-ID` when resuming).
    pub fn last_id(&self) -> Option<&str> {
        self.last_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Event> {
        let mut r = Reader::new(text.as_bytes(), 1024);
        let mut out = vec![];
        while let Some(e) = r.next_event().unwrap() {
            out.push(e);
        }
        out
    }

    #[test]
    fn events_are_split_joined_and_numbered() {
        let evs = all(
            ": keep-alive\n\nid: 1\nevent: message\ndata: {\"a\":\ndata: 1}\n\n\
             retry: 500\r\ndata:{}\r\n\r\nid: 2\n\ndata: x\n\ndata: cut",
        );
        assert_eq!(evs.len(), 3);
        assert_eq!(evs[0].data, "{\"a\":\n1}");
        assert_eq!(evs[0].id.as_deref(), Some("1"));
        assert_eq!(evs[0].event.as_deref(), Some("message"));
        assert_eq!(evs[1].data, "{}");
        assert_eq!(evs[1].retry, Some(500));
        assert_eq!(evs[1].id.as_deref(), Some("1"));
        // An id alone sets the last id without an event; the unfinished last event is dropped.
        assert_eq!(evs[2].id.as_deref(), Some("2"));
    }

    #[test]
    fn oversized_events_are_refused() {
        let big = format!("data: {}\n\n", "x".repeat(2000));
        let mut r = Reader::new(big.as_bytes(), 1024);
        assert!(r.next_event().is_err());
        let many = "data: 0123456789\n".repeat(200) + "\n";
        let mut r = Reader::new(many.as_bytes(), 1024);
        assert!(r.next_event().is_err());
    }
}
