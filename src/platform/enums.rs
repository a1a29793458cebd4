//! States and kinds as types: [`text_enum!`] declares an enum stored as
//! text (`DemandStatus::Open` ⇄ `"open"`), usable directly in Diesel
//! queries and rows, serialised by serde and published in OpenAPI as a
//! named enum schema. A stored value the enum does not know fails the
//! read loudly instead of being guessed.

/// What every [`text_enum!`] type offers, for code generic over them.
pub trait TextEnum: Copy + PartialEq + 'static {
    /// Every value, in declaration order.
    fn all() -> &'static [Self];
    /// The stored and serialised form.
    fn text(self) -> &'static str;
    /// The value with this stored form.
    fn from_text(text: &str) -> Option<Self>;
}

/// Declares a text-stored enum: `text_enum! { /// doc
/// pub enum DemandStatus { Open = "open", Closed = "closed" } }`. The text
/// of each variant must be its name in snake_case: serde and OpenAPI use
/// `rename_all = "snake_case"` (utoipa does not read a per-variant rename
/// that comes through a macro), and `tests/enums.rs` checks they agree.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        #[serde(rename_all = "snake_case")]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            #[allow(dead_code)]
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and serialised form.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text ),+
                }
            }

            /// The value with this stored form.
            #[allow(dead_code)]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some($name::$variant), )+
                    _ => None,
                }
            }
        }

        impl $crate::platform::enums::TextEnum for $name {
            fn all() -> &'static [Self] {
                $name::ALL
            }
            fn text(self) -> &'static str {
                self.as_str()
            }
            fn from_text(text: &str) -> Option<Self> {
                $name::parse(text)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                $name::parse(&text).ok_or_else(|| {
                    format!(concat!("unknown ", stringify!($name), " {:?} in the database"), text)
                        .into()
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test enum.
        pub enum Colour {
            /// Red.
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn text_round_trips_and_unknown_text_is_none() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert_eq!(Colour::parse("green"), None);
        assert_eq!(
            serde_json::to_string(&Colour::DarkBlue).unwrap(),
            "\"dark_blue\""
        );
    }
}
