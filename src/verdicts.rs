//! Token verdicts as an Arrow struct array: one row per token, built without Python.
//!
//! A row holds whether the token is valid, the PyJWT exception class and message when it is
//! not, the header's `alg` and `kid`, the registered claims as typed columns and the whole
//! claims object as JSON text. A null token gives a row of nulls, `valid` included (the
//! rows themselves are never null: Arrow record batches, hence streams, cannot hold them). The claim columns of a valid
//! token are null where the claim is absent or not of the column's type (`aud` must be a
//! string or a list of strings; times are numbers, in microseconds since the epoch, null
//! beyond the timestamp's range); the JSON text always holds the claims exactly.

use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    BooleanBuilder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, StructArray};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use jiter::JsonValue;
use pyo3::FromPyObject;

use crate::batch::Member;

/// The time zone of the timestamp columns: claims are seconds since the epoch, in UTC.
const UTC: &str = "UTC";

/// The struct fields of a verdict row, in column order.
pub fn fields() -> Fields {
    static FIELDS: LazyLock<Fields> = LazyLock::new(|| {
        let text = |name: &str| Field::new(name, DataType::Utf8, true);
        let time = |name: &str| {
            Field::new(
                name,
                DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into())),
                true,
            )
        };
        Fields::from(vec![
            Field::new("valid", DataType::Boolean, true),
            text("error"),
            text("message"),
            text("alg"),
            text("kid"),
            text("iss"),
            text("sub"),
            Field::new(
                "aud",
                DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, true))),
                true,
            ),
            time("exp"),
            time("nbf"),
            time("iat"),
            text("jti"),
            text("claims"),
        ])
    });
    FIELDS.clone()
}

/// The type of a verdict column: a struct of [`fields`].
pub fn data_type() -> DataType {
    DataType::Struct(fields())
}

/// The `alg` and `kid` of one header, read once for all the tokens that share it.
#[derive(Default)]
struct HeaderFields {
    bytes: Vec<u8>,
    alg: Option<String>,
    kid: Option<String>,
}

impl HeaderFields {
    fn read(bytes: &[u8]) -> HeaderFields {
        let parsed = JsonValue::parse(bytes, true);
        let text = |name: &str| match &parsed {
            Ok(JsonValue::Object(members)) => string(last_member(members, name)).map(str::to_owned),
            _ => None,
        };
        HeaderFields {
            bytes: bytes.to_vec(),
            alg: text("alg"),
            kid: text("kid"),
        }
    }
}

/// The columns of a valid token as the Python fallback reads them from `decode`'s result.
#[derive(FromPyObject)]
pub struct FallbackRow {
    pub claims: String,
    pub alg: Option<String>,
    pub kid: Option<String>,
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<Vec<String>>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
}

/// Rows appended one at a time, then finished into a struct array.
pub struct VerdictBuilder {
    valid: BooleanBuilder,
    error: StringBuilder,
    message: StringBuilder,
    alg: StringBuilder,
    kid: StringBuilder,
    iss: StringBuilder,
    sub: StringBuilder,
    aud: ListBuilder<StringBuilder>,
    exp: TimestampMicrosecondBuilder,
    nbf: TimestampMicrosecondBuilder,
    iat: TimestampMicrosecondBuilder,
    jti: StringBuilder,
    claims: StringBuilder,
    header: HeaderFields,
}

impl VerdictBuilder {
    /// A builder sized for `rows` rows of tokens about `token_bytes` long.
    pub fn with_capacity(rows: usize, token_bytes: usize) -> VerdictBuilder {
        let text = || StringBuilder::with_capacity(rows, rows * 8);
        let time = || TimestampMicrosecondBuilder::with_capacity(rows).with_timezone(UTC);
        VerdictBuilder {
            valid: BooleanBuilder::with_capacity(rows),
            error: text(),
            message: text(),
            alg: text(),
            kid: text(),
            iss: text(),
            sub: text(),
            aud: ListBuilder::with_capacity(text(), rows)
                .with_field(Field::new_list_field(DataType::Utf8, true)),
            exp: time(),
            nbf: time(),
            iat: time(),
            jti: text(),
            claims: StringBuilder::with_capacity(rows, rows * token_bytes * 3 / 4),
            header: HeaderFields::default(),
        }
    }

    /// A valid token: its decoded header and claims, and the claims' JSON text.
    pub fn append_valid(&mut self, header: &[u8], claims: &[Member<'_>], claims_json: &str) {
        if self.header.bytes.is_empty() || self.header.bytes != header {
            self.header = HeaderFields::read(header);
        }
        self.valid.append_value(true);
        self.error.append_null();
        self.message.append_null();
        self.alg.append_option(self.header.alg.as_deref());
        self.kid.append_option(self.header.kid.as_deref());
        self.iss.append_option(string(last_member(claims, "iss")));
        self.sub.append_option(string(last_member(claims, "sub")));
        self.append_audience(last_member(claims, "aud"));
        self.exp.append_option(micros(last_member(claims, "exp")));
        self.nbf.append_option(micros(last_member(claims, "nbf")));
        self.iat.append_option(micros(last_member(claims, "iat")));
        self.jti.append_option(string(last_member(claims, "jti")));
        self.claims.append_value(claims_json);
    }

    /// A valid token judged by the ordinary decode path, its columns read by Python from
    /// the claims `decode` returned (see `turbojwt.arrow`), which may hold what this
    /// module's JSON reader refuses (a lone surrogate, as `json.loads` accepts).
    pub fn append_valid_columns(&mut self, row: FallbackRow) {
        self.valid.append_value(true);
        self.error.append_null();
        self.message.append_null();
        self.alg.append_option(row.alg);
        self.kid.append_option(row.kid);
        self.iss.append_option(row.iss);
        self.sub.append_option(row.sub);
        match row.aud {
            Some(aud) => {
                for one in aud {
                    self.aud.values().append_value(one);
                }
                self.aud.append(true);
            }
            None => self.aud.append_null(),
        }
        self.exp.append_option(row.exp);
        self.nbf.append_option(row.nbf);
        self.iat.append_option(row.iat);
        self.jti.append_option(row.jti);
        self.claims.append_value(row.claims);
        self.header = HeaderFields::default(); // the next native row reads its own header
    }

    /// An invalid token: the exception `decode` raises for it.
    pub fn append_invalid(&mut self, class: &str, message: &str) {
        self.valid.append_value(false);
        self.error.append_value(class);
        self.message.append_value(message);
        self.append_no_claims();
    }

    /// A null token: nulls throughout.
    pub fn append_null(&mut self) {
        self.valid.append_null();
        self.error.append_null();
        self.message.append_null();
        self.append_no_claims();
    }

    fn append_no_claims(&mut self) {
        self.alg.append_null();
        self.kid.append_null();
        self.iss.append_null();
        self.sub.append_null();
        self.aud.append_null();
        self.exp.append_null();
        self.nbf.append_null();
        self.iat.append_null();
        self.jti.append_null();
        self.claims.append_null();
    }

    fn append_audience(&mut self, aud: Option<&JsonValue<'_>>) {
        match aud {
            Some(JsonValue::Str(one)) => {
                self.aud.values().append_value(one);
                self.aud.append(true);
            }
            Some(JsonValue::Array(items))
                if items.iter().all(|item| matches!(item, JsonValue::Str(_))) =>
            {
                for item in items.iter() {
                    if let JsonValue::Str(one) = item {
                        self.aud.values().append_value(one);
                    }
                }
                self.aud.append(true);
            }
            _ => self.aud.append_null(),
        }
    }

    /// The rows so far, as a struct array of [`fields`].
    pub fn finish(mut self) -> StructArray {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.valid.finish()),
            Arc::new(self.error.finish()),
            Arc::new(self.message.finish()),
            Arc::new(self.alg.finish()),
            Arc::new(self.kid.finish()),
            Arc::new(self.iss.finish()),
            Arc::new(self.sub.finish()),
            Arc::new(self.aud.finish()),
            Arc::new(self.exp.finish()),
            Arc::new(self.nbf.finish()),
            Arc::new(self.iat.finish()),
            Arc::new(self.jti.finish()),
            Arc::new(self.claims.finish()),
        ];
        // The columns are built to the fields' types and have one entry per row, so this
        // cannot fail; an empty array is the harmless answer if it ever did.
        StructArray::try_new(fields(), columns, None)
            .unwrap_or_else(|_| StructArray::new_empty_fields(0, None))
    }
}

/// The value of the last member named `name`: `json.loads` keeps the last of duplicates.
fn last_member<'m, 'a>(members: &'m [Member<'a>], name: &str) -> Option<&'m JsonValue<'a>> {
    members
        .iter()
        .rev()
        .find(|(key, _)| crate::claims_scan::same_text(key, name))
        .map(|(_, value)| value)
}

fn string<'m>(value: Option<&'m JsonValue<'_>>) -> Option<&'m str> {
    match value {
        Some(JsonValue::Str(text)) => Some(text.as_ref()),
        _ => None,
    }
}

/// A claim of seconds since the epoch as microseconds, when it is a number in range.
fn micros(value: Option<&JsonValue<'_>>) -> Option<i64> {
    const MICROS: i64 = 1_000_000;
    match value? {
        JsonValue::Int(seconds) => seconds.checked_mul(MICROS),
        JsonValue::Float(seconds) => {
            // Python's `round` (ties to even), kept strictly inside i64's range.
            const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
            let micros = (seconds * 1e6).round_ties_even();
            #[allow(clippy::cast_possible_truncation)]
            (micros > -TWO_POW_63 && micros < TWO_POW_63).then_some(micros as i64)
        }
        _ => None,
    }
}
