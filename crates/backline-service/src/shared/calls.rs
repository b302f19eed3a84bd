//! What the areas share about calls: the id of a contact call's caller,
//! which is also its hub key.

/// The hub key (and party id) of the caller of a contact call.
pub fn contact_party_id(call_id: &str) -> String {
    format!("contact:{call_id}")
}
