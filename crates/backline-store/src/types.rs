//! The domain's states as the store keeps them: enums at the boundary,
//! stored as their snake_case names (TEXT), so a row never carries a state
//! the code does not know (reading one fails with [`StoreError::Decode`]).

use crate::db::{FromValue, Param, Value};
#[cfg(doc)]
use crate::StoreError;

macro_rules! text_enum {
    ($(#[$meta:meta])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value a stored name stands for.
            pub fn parse(text: &str) -> Option<$name> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromValue for $name {
            fn from_value(value: &Value) -> Result<Self, String> {
                match value {
                    Value::Text(text) => $name::parse(text)
                        .ok_or_else(|| format!("{text:?} is not a {}", stringify!($name))),
                    other => Err(format!("expected a {} name, got {other:?}", stringify!($name))),
                }
            }
        }

        impl From<$name> for Param {
            fn from(value: $name) -> Param {
                Param::Text(Some(value.as_str().to_owned()))
            }
        }
    };
}

text_enum! {
    /// An IM session's state.
    pub enum SessionState {
        /// Created, its invitation not sent yet (a deferred session).
        NotConnected = "not_connected",
        Inviting = "inviting",
        Connected = "connected",
        Ended = "ended",
    }
}

text_enum! {
    /// A participant's part in a session.
    pub enum ParticipantRole {
        Initiator = "initiator",
        Invitee = "invitee",
        /// A group supervisor who joined the session.
        Supervisor = "supervisor",
    }
}

text_enum! {
    /// Where a participant stands in a session.
    pub enum ParticipantState {
        /// Named in a session that has not sent its invitation yet.
        NotInvited = "not_invited",
        Invited = "invited",
        Joined = "joined",
        Rejected = "rejected",
        Cancelled = "cancelled",
        Left = "left",
    }
}

impl ParticipantState {
    /// Invited or joined: hears of the session's changes.
    pub fn is_active(self) -> bool {
        matches!(self, ParticipantState::Invited | ParticipantState::Joined)
    }
}

text_enum! {
    /// Where a group consultation's offer stands.
    pub enum OfferState {
        /// Offered; nobody has taken it yet.
        Open = "open",
        /// A member accepted it.
        Taken = "taken",
        /// The initiator withdrew it, or the session ended untaken.
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// Whom a group offer's latest wave went to.
    pub enum OfferStage {
        /// The group's own members.
        Members = "members",
        /// The members of the group's overflow group.
        Overflow = "overflow",
        /// The group's supervisors.
        Supervisors = "supervisors",
    }
}

text_enum! {
    /// What a consultation about an interaction came to.
    pub enum ConsultationOutcome {
        Answered = "answered",
        NeedsFollowUp = "needs_follow_up",
        Transferred = "transferred",
        NoAnswer = "no_answer",
    }
}

text_enum! {
    /// A call: with a contact, or a consultation between two agents.
    pub enum CallKind {
        Contact = "contact",
        Consultation = "consultation",
    }
}

text_enum! {
    /// A call's state.
    pub enum CallState {
        Ringing = "ringing",
        Active = "active",
        Ended = "ended",
    }
}

text_enum! {
    /// Who a call party is.
    pub enum PartyKind {
        /// An agent (an account).
        Agent = "agent",
        /// The contact (a caller on the click-to-call page).
        Contact = "contact",
    }
}

text_enum! {
    /// A call party's leg.
    pub enum PartyState {
        Ringing = "ringing",
        Connected = "connected",
        Held = "held",
        Left = "left",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_as_itself_and_unknown_names_are_refused() {
        for state in ParticipantState::ALL {
            let value = Value::Text(state.as_str().to_owned());
            assert_eq!(ParticipantState::from_value(&value), Ok(*state));
        }
        for state in SessionState::ALL {
            assert_eq!(SessionState::parse(state.as_str()), Some(*state));
        }
        assert!(CallState::from_value(&Value::Text("dancing".into())).is_err());
        assert!(PartyState::from_value(&Value::Int(1)).is_err());
    }
}
