//! Typed ids at the store's boundary: every id the store takes or returns
//! has a type of its own, so a user's id passed where a session's belongs
//! does not compile. They are stored as TEXT (UUIDv7 text, or a name the
//! caller chose) and serialise as plain strings.

use crate::db::{FromValue, Param, Value};

macro_rules! text_id {
    ($(#[$meta:meta])* pub struct $name:ident;) => {
        $(#[$meta])*
        #[derive(
            Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id as stored.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The id's text, taken out.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        /// As the text's: an id in a message (`{id:?}`) reads as it did
        /// when ids were strings.
        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Debug::fmt(&self.0, f)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> $name {
                $name(text)
            }
        }

        impl FromValue for $name {
            fn from_value(value: &Value) -> Result<Self, String> {
                match value {
                    Value::Text(text) => Ok($name(text.clone())),
                    other => Err(format!("expected a {} (text), got {other:?}", stringify!($name))),
                }
            }
        }

        impl From<$name> for Param {
            fn from(id: $name) -> Param {
                Param::Text(Some(id.0))
            }
        }

        impl From<&$name> for Param {
            fn from(id: &$name) -> Param {
                Param::Text(Some(id.0.clone()))
            }
        }

        impl From<Option<&$name>> for Param {
            fn from(id: Option<&$name>) -> Param {
                Param::Text(id.map(|id| id.0.clone()))
            }
        }

        impl From<Option<$name>> for Param {
            fn from(id: Option<$name>) -> Param {
                Param::Text(id.map(|id| id.0))
            }
        }

        impl From<&Option<$name>> for Param {
            fn from(id: &Option<$name>) -> Param {
                Param::Text(id.as_ref().map(|id| id.0.clone()))
            }
        }
    };
}

text_id! {
    /// An account (`users.id`).
    pub struct UserId;
}

text_id! {
    /// An IM session, a consultation included (`im_sessions.id`).
    pub struct SessionId;
}

text_id! {
    /// An interaction (`interactions.id`): a contact's chat, call or case.
    pub struct InteractionId;
}

text_id! {
    /// A group of accounts (`user_groups.id`).
    pub struct GroupId;
}

text_id! {
    /// A contact: a customer the interactions are with (`contacts.id`).
    pub struct ContactId;
}

text_id! {
    /// A voice call, with a contact or between two agents (`calls.id`).
    pub struct CallId;
}

text_id! {
    /// An integration: a platform or identity provider's credentials (`integrations.id`).
    pub struct IntegrationId;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_round_trips_through_a_parameter_a_value_and_json() {
        let id = UserId::from("0190a1b2-user".to_owned());
        let Param::Text(Some(text)) = Param::from(&id) else {
            panic!("an id binds as text");
        };
        assert_eq!(UserId::from_value(&Value::Text(text)), Ok(id.clone()));
        assert_eq!(
            Option::<UserId>::from_value(&Value::Null),
            Ok(None),
            "a NULL reads as no id"
        );
        assert!(UserId::from_value(&Value::Int(7)).is_err());

        let json = serde_json::to_string(&id).expect("serialise");
        assert_eq!(json, "\"0190a1b2-user\"");
        let back: UserId = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, id);
        assert_eq!(back.to_string(), back.as_str());
        assert_eq!(
            format!("{back:?}"),
            "\"0190a1b2-user\"",
            "debug reads as the text"
        );
    }
}
