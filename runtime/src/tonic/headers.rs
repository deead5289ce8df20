//! Header lookups on the small maps every call reads: a request's headers
//! on the server, a response's headers and trailers on the client.

use http::{HeaderMap, HeaderName, HeaderValue};

/// The most entries [`find`] scans; a larger map is looked up.
const SCAN_MAX: usize = 8;

/// `name`'s first value in `headers`, as `HeaderMap::get` gives it.
/// gRPC headers and trailers hold a handful of entries and every call reads
/// them: comparing a few names costs less than hashing one.
pub(crate) fn find<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a HeaderValue> {
    if headers.len() > SCAN_MAX {
        return headers.get(name);
    }
    headers.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_agrees_with_get_on_small_and_large_maps() {
        let wanted = HeaderName::from_static("grpc-status-details-bin");
        let absent = HeaderName::from_static("grpc-status");
        for n in [0, 1, SCAN_MAX - 1, SCAN_MAX, SCAN_MAX + 1, 3 * SCAN_MAX] {
            let mut headers = HeaderMap::new();
            for i in 0..n {
                let name = HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap();
                headers.insert(name, HeaderValue::from(i));
            }
            headers.append(&wanted, HeaderValue::from_static("first"));
            headers.append(&wanted, HeaderValue::from_static("second"));
            headers.append(http::header::CONTENT_TYPE, HeaderValue::from_static("a/b"));
            assert_eq!(find(&headers, &wanted), headers.get(&wanted), "{n} entries");
            assert_eq!(find(&headers, &wanted).unwrap(), "first", "{n} entries");
            assert_eq!(
                find(&headers, &http::header::CONTENT_TYPE).unwrap(),
                "a/b",
                "{n} entries"
            );
            assert_eq!(find(&headers, &absent), None, "{n} entries");
        }
    }
}
