//! A JSON body extractor whose failures are problem JSON: unparseable JSON answers 400, JSON of
//! the wrong shape answers 422 naming the field (via `serde_path_to_error`), an oversized body 413.

use crate::server::error::{Error, FieldError};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// `ApiJson<T>`: like `axum::Json<T>`, with Tariff's error mapping. The `Content-Type` header is
/// not required, so `curl -d '{...}'` works as the spec's examples are written.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                Error::PayloadTooLarge
            } else {
                Error::BadRequest(rejection.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// Parses a JSON document into `T` with the error mapping above.
///
/// # Errors
/// [`Error::BadRequest`] for malformed JSON; [`Error::Validation`] for a wrong shape.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::BadRequest("the request body must be a JSON document".into()));
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
            Error::Validation(vec![FieldError::new(field, message)])
        } else {
            Error::BadRequest(format!("malformed JSON: {message}"))
        }
    })?;
    deserializer.end().map_err(|e| Error::BadRequest(format!("malformed JSON: {}", strip_position(&e.to_string()))))?;
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
    fn malformed_json_is_a_bad_request() {
        assert!(matches!(parse::<Body>(b"{\"name\": "), Err(Error::BadRequest(_))));
        assert!(matches!(parse::<Body>(b""), Err(Error::BadRequest(_))));
        assert!(matches!(parse::<Body>(b"{\"name\":\"a\",\"amount\":1} trailing"), Err(Error::BadRequest(_))));
    }

    #[test]
    fn wrong_shapes_name_the_field() {
        let Err(Error::Validation(errors)) = parse::<Body>(br#"{"name": "a", "amount": "ten"}"#) else { panic!() };
        assert_eq!(errors[0].field, "amount");
        let Err(Error::Validation(errors)) = parse::<Body>(br#"{"amount": 1}"#) else { panic!() };
        assert_eq!(errors[0].field, "name");
    }
}
