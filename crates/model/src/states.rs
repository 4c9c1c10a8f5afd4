//! The status enums that are strings on the wire and in the database: transaction status and
//! kind, the notification inbox's outcome, user roles, token scopes and the interface language.
//! Each is parsed once (at the store boundary or from a request) and is an enum everywhere else;
//! an unknown value is an error ([`UnknownValue`]), never a silent default.

use serde::Deserialize;

/// A stored or sent value that is not one of an enum's names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// What was being parsed, e.g. `transaction status`.
    pub kind: &'static str,
    pub value: String,
}

/// Declares a `snake_case` string enum with `ALL`, `as_str`, `FromStr` (→ [`UnknownValue`]),
/// `Display` and serde under the same names.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident as $kind:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        // Serde and the OpenAPI schema by name, written out rather than derived: a derived
        // deserializer per enum and per input type costs the browser bundle kilobytes each.
        $crate::states::by_name!($name);

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            /// The wire and database name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::states::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::states::UnknownValue { kind: $kind, value: s.to_owned() })
            }
        }
    };
}

pub(crate) use string_enum;

/// Serde (by name, through `FromStr`) and the OpenAPI schema (the names of `ALL`) of an enum
/// with `ALL` and a name method (`as_str` unless given).
macro_rules! by_name {
    ($name:ident) => {
        $crate::states::by_name!($name, as_str);
    };
    ($name:ident, $method:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.$method())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::states::deserialize_by_name(deserializer)
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                $crate::states::names_schema(&$name::ALL.map($name::$method))
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

pub(crate) use by_name;

/// Deserializes a string enum from its name (through `FromStr`).
pub(crate) fn deserialize_by_name<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let name = std::borrow::Cow::<'de, str>::deserialize(deserializer)?;
    name.parse().map_err(serde::de::Error::custom)
}

/// The OpenAPI schema of a string enum: a string, one of `names`.
#[cfg(feature = "openapi")]
pub(crate) fn names_schema(names: &[&'static str]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(names.iter().copied()))
        .into()
}

string_enum! {
    /// Where a payment, renewal, top-up or refund stands (spec 000 "Transaction Entity").
    /// `pending` and `waiting_for_capture` can still change; the others are final, except that a
    /// `succeeded` payment becomes `refunded` once all of it is refunded.
    pub enum TransactionStatus as "transaction status" {
        Pending = "pending",
        WaitingForCapture = "waiting_for_capture",
        Succeeded = "succeeded",
        /// YooKassa refused to create the payment (it never reached the payer).
        Failed = "failed",
        /// The payer or the bank declined; `cancellation_reason` says why.
        Canceled = "canceled",
        Refunded = "refunded",
    }
}

impl TransactionStatus {
    /// Whether the status may still change on its own (the return page keeps polling).
    pub fn is_open(self) -> bool {
        matches!(self, TransactionStatus::Pending | TransactionStatus::WaitingForCapture)
    }
}

string_enum! {
    /// What a transaction pays for (DESIGN.md data model).
    pub enum TransactionKind as "transaction kind" {
        /// A checkout of one period of a plan.
        Subscription = "subscription",
        /// A charge of the saved card for the next period.
        Renewal = "renewal",
        /// Money added to the account balance.
        Topup = "topup",
        /// Money given back on an earlier payment (`parent_transaction_id`).
        Refund = "refund",
    }
}

impl TransactionKind {
    /// Whether money came in (every kind but refunds).
    pub fn is_payment(self) -> bool {
        self != TransactionKind::Refund
    }
}

string_enum! {
    /// How handling a stored provider notification ended (the inbox row's status).
    pub enum InboxStatus as "notification status" {
        /// Stored, not handled yet.
        Pending = "pending",
        /// The state moved.
        Processed = "processed",
        /// Nothing to do: a redelivery, an unknown event, a status YooKassa does not confirm.
        Ignored = "ignored",
        /// Handling failed; the sweeper retries.
        Failed = "failed",
    }
}

impl InboxStatus {
    /// Whether the notification is done with (a redelivery changes nothing).
    pub fn is_final(self) -> bool {
        matches!(self, InboxStatus::Processed | InboxStatus::Ignored)
    }
}

string_enum! {
    /// What a person may do in the web UI and which token scopes they may hold.
    pub enum Role as "role" {
        User = "user",
        Admin = "admin",
    }
}

string_enum! {
    /// What an API token may do (issue "Billing core" §1): `user` acts as its owner; `service`
    /// acts for any user named by `user_id`; `admin` calls the admin routes and exists only for
    /// admin users.
    pub enum Scope as "scope" {
        User = "user",
        Service = "service",
        Admin = "admin",
    }
}

/// A supported interface language (UI.md "Both languages everywhere").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Locale {
    #[default]
    En,
    Ru,
}

by_name!(Locale, code);

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::Ru];

    /// `en` or `ru`.
    pub fn code(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    /// A language code, case and surrounding spaces ignored; `None` for anything else.
    pub fn parse(code: &str) -> Option<Locale> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Locale::En),
            "ru" => Some(Locale::Ru),
            _ => None,
        }
    }

    /// The language's own name, for the switch.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::Ru => "Русский",
        }
    }
}

impl std::str::FromStr for Locale {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::parse(s).ok_or_else(|| UnknownValue { kind: "locale", value: s.to_owned() })
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_errors() {
        for s in TransactionStatus::ALL {
            assert_eq!(s.as_str().parse::<TransactionStatus>(), Ok(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for k in TransactionKind::ALL {
            assert_eq!(k.as_str().parse::<TransactionKind>(), Ok(k));
        }
        assert_eq!(
            "settled".parse::<TransactionStatus>(),
            Err(UnknownValue { kind: "transaction status", value: "settled".into() })
        );
        assert!("root".parse::<Role>().is_err());
        assert_eq!("service".parse::<Scope>(), Ok(Scope::Service));
        assert_eq!(" RU ".parse::<Locale>(), Ok(Locale::Ru));
        assert!("de".parse::<Locale>().is_err());
    }
}
