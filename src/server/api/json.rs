//! Parsing JSON bodies with problem-JSON failures: unparseable JSON answers 400, JSON of the
//! wrong shape answers 422 naming the field (via `serde_path_to_error`).

use super::error::ApiError;
use serde::de::DeserializeOwned;

/// Parses a JSON document into `T`.
///
/// # Errors
/// [`ApiError::BadRequest`] for malformed JSON or an empty body; [`ApiError::Shape`] for a wrong
/// shape, naming the field (`body` when the document is not an object).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("the request body must be a JSON document".into()));
    }
    // Every body of the API is a JSON object; serde would also read a struct from an array.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Ok(_) => ApiError::Shape { field: "body".into(), message: "the request body must be a JSON object".into() },
            Err(e) => ApiError::BadRequest(format!("malformed JSON: {}", strip_position(&e.to_string()))),
        });
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = strip_position(&inner.to_string());
        if inner.is_data() {
            let field = match message.strip_prefix("missing field `") {
                Some(rest) => rest.split('`').next().unwrap_or_default().to_owned(),
                None if path == "." => "body".to_owned(),
                None => path,
            };
            ApiError::Shape { field, message }
        } else {
            ApiError::BadRequest(format!("malformed JSON: {message}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::BadRequest(format!("malformed JSON: {}", strip_position(&e.to_string()))))?;
    Ok(value)
}

/// serde_json appends " at line L column C"; the field name says more to an API client.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        amount: i64,
    }

    #[test]
    fn bodies_are_objects() {
        assert!(matches!(parse::<Body>(b"[\"n\", 1]"), Err(ApiError::Shape { field, .. }) if field == "body"));
        assert!(matches!(parse::<Body>(b"null"), Err(ApiError::Shape { .. })));
        assert!(matches!(parse::<Body>(b"[1,"), Err(ApiError::BadRequest(_))));
        assert!(parse::<Body>(b" {\"name\": \"n\", \"amount\": 1}").is_ok());
    }

    #[test]
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse::<Body>(b"{\"name\": "), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse::<Body>(b""), Err(ApiError::BadRequest(_))));
        assert!(matches!(parse::<Body>(b"{\"name\":\"a\",\"amount\":1} trailing"), Err(ApiError::BadRequest(_))));
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let Err(ApiError::Shape { field, .. }) = parse::<Body>(br#"{"name": "a", "amount": "ten"}"#) else { panic!() };
        assert_eq!(field, "amount");
        let Err(ApiError::Shape { field, .. }) = parse::<Body>(br#"{"amount": 1}"#) else { panic!() };
        assert_eq!(field, "name");
    }
}
