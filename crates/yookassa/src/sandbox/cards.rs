//! The test cards of YooKassa's test shop (ref §7.2) and what paying with each one does.

/// What paying with a test card does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardOutcome {
    /// The payment goes through; `three_d_secure` says whether the card passes a 3-D Secure step.
    Success { scheme: &'static str, three_d_secure: bool },
    /// The payment is declined with these `cancellation_details`.
    Decline { scheme: &'static str, party: &'static str, reason: &'static str },
}

/// Successful test cards: number, scheme, 3-D Secure.
pub const SUCCESS_CARDS: [(&str, &str, bool); 11] = [
    ("5555555555554477", "MasterCard", true),
    ("5555555555554444", "MasterCard", false),
    ("4793128161644804", "Visa", true),
    ("4111111111111111", "Visa", false),
    ("2200000000000004", "Mir", true),
    ("2202474301322987", "Mir", false),
    ("6759649826438453", "Maestro", false),
    ("4175001000000017", "VisaElectron", false),
    ("370000000000002", "AmericanExpress", false),
    ("3528000700000000", "JCB", false),
    ("36700102000000", "DinersClub", false),
];

/// Declined test cards: Mastercard, Visa, Mir numbers, then `party` and `reason`.
pub const DECLINE_CARDS: [([&str; 3], &str, &str); 13] = [
    (["5555555555554592", "4839665499603842", "2200000000000012"], "payment_network", "3d_secure_failed"),
    (["5555555555554535", "4926946416239025", "2200000000000020"], "payment_network", "call_issuer"),
    (["5555555555554543", "4141435412630840", "2200000000000038"], "payment_network", "card_expired"),
    (["5555555555554568", "4483274282299972", "2200000000000046"], "payment_network", "fraud_suspected"),
    (["5555555555554527", "4889971706588753", "2202202212312379"], "payment_network", "general_decline"),
    (["5555555555554600", "4562265587712390", "2200000000000053"], "payment_network", "insufficient_funds"),
    (["5555555555554618", "4951017853630544", "2201382000000013"], "payment_network", "invalid_card_number"),
    (["5555555555554626", "4194180666146368", "2200770212727079"], "payment_network", "invalid_csc"),
    (["5555555555554501", "4654130848359150", "2201382000000021"], "payment_network", "issuer_unavailable"),
    (["5555555555554576", "4565231022577548", "2201382000000039"], "payment_network", "payment_method_limit_exceeded"),
    (["5555555555554550", "4233961169071671", "2201382000000047"], "payment_network", "payment_method_restricted"),
    (["5555555555554584", "4969751510013864", "2201382000000054"], "yoo_money", "country_forbidden"),
    (["5555555555554634", "4119098878796485", "2201696981989955"], "yoo_money", "fraud_suspected"),
];

/// The outcome of paying with `number` (spaces and dashes ignored); `None` for other numbers.
pub fn outcome(number: &str) -> Option<CardOutcome> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if let Some((_, scheme, three_d_secure)) = SUCCESS_CARDS.iter().find(|(n, _, _)| *n == digits) {
        return Some(CardOutcome::Success { scheme, three_d_secure: *three_d_secure });
    }
    DECLINE_CARDS.iter().find_map(|(numbers, party, reason)| {
        numbers.iter().position(|n| *n == digits).map(|i| CardOutcome::Decline {
            scheme: ["MasterCard", "Visa", "Mir"][i],
            party,
            reason,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_cards_have_their_outcomes() {
        assert_eq!(
            outcome("5555 5555 5555 4444"),
            Some(CardOutcome::Success { scheme: "MasterCard", three_d_secure: false })
        );
        assert_eq!(
            outcome("5555555555554600"),
            Some(CardOutcome::Decline { scheme: "MasterCard", party: "payment_network", reason: "insufficient_funds" })
        );
        assert_eq!(
            outcome("2201696981989955"),
            Some(CardOutcome::Decline { scheme: "Mir", party: "yoo_money", reason: "fraud_suspected" })
        );
        assert_eq!(outcome("1234"), None);
    }
}
