//! W3C Bitstring Status List v1.0: the bitstring, `BitstringStatusListCredential`
//! secured as a `vc+jwt`, and `BitstringStatusListEntry` for `credentialStatus`.
//!
//! Bit order differs from the Token Status List: Spec: W3C Bitstring Status List §2.2
//! (`encodedList`): "the first index, with a value of zero (0), is located at the
//! left-most bit in the bitstring"; §7.1 (Bitstring Encoding) and its figure put index 0
//! at the left-most bit of the first byte, i.e. its most significant bit. An entry of
//! `statusSize` bits starts at bit `statusListIndex * statusSize` (§3.3) and is read most
//! significant bit first.

use serde_json::{Map, Value};
use vdc_core::base64url;
use vdc_core::jose::{AlgorithmPolicy, PublicKey, Signer};
use vdc_core::time::UnixTime;
use vdc_core::vc_jose::{
    self, CREDENTIALS_V2_CONTEXT, format_date_time_stamp, issuer_id, validity_period,
};

use crate::compress;
use crate::error::{Error, Result, printable};
use crate::status_list::MAX_LIST_BYTES;

/// The herd-privacy minimum of entries: Spec: §3.2 (Validate Algorithm) step 2,
/// "minimumNumberOfEntries be 131,072"; §2.2: "The uncompressed bitstring MUST be at least
/// 16KB in size."
pub const MIN_BITSTRING_ENTRIES: usize = 131_072;
/// The `type` of the status list credential (§2.2).
pub const BITSTRING_STATUS_LIST_CREDENTIAL: &str = "BitstringStatusListCredential";
/// The `credentialSubject.type` of the status list credential (§2.2).
pub const BITSTRING_STATUS_LIST: &str = "BitstringStatusList";
/// The `type` of a `credentialStatus` entry (§2.1).
pub const BITSTRING_STATUS_LIST_ENTRY: &str = "BitstringStatusListEntry";
/// The multibase prefix of base64url without padding.
const MULTIBASE_BASE64URL: char = 'u';

/// A W3C bitstring status list: `len` entries of `status_size` bits (1-8), index 0 at
/// the most significant bit of the first byte.
#[derive(Clone, PartialEq, Eq)]
pub struct BitstringStatusList {
    status_size: u8,
    len: usize,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for BitstringStatusList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitstringStatusList")
            .field("status_size", &self.status_size)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

fn check_status_size(status_size: u8) -> Result<()> {
    // Spec: §2.1 statusSize "MUST be an integer greater than zero"; we support entries
    // that fit in one status byte value.
    if (1..=8).contains(&status_size) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "statusSize must be 1-8, not {status_size}"
        )))
    }
}

impl BitstringStatusList {
    /// A list of `len` entries of `status_size` bits, all 0. `len` must be at least
    /// [`MIN_BITSTRING_ENTRIES`] (§2.2, §3.2); the bitstring is padded to whole bytes.
    pub fn new(len: usize, status_size: u8) -> Result<Self> {
        check_status_size(status_size)?;
        if len < MIN_BITSTRING_ENTRIES {
            return Err(Error::invalid(format!(
                "a bitstring status list needs at least {MIN_BITSTRING_ENTRIES} entries"
            )));
        }
        let byte_len = len
            .checked_mul(usize::from(status_size))
            .map(|bits| bits.div_ceil(8))
            .filter(|&b| b <= MAX_LIST_BYTES)
            .ok_or_else(|| Error::invalid(format!("bitstring over {MAX_LIST_BYTES} bytes")))?;
        Ok(Self {
            status_size,
            len,
            bytes: vec![0; byte_len],
        })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the list has no entries (never true for a list built or decoded here).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bits per entry.
    pub fn status_size(&self) -> u8 {
        self.status_size
    }

    /// The uncompressed bitstring.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    fn out_of_range(&self, idx: usize) -> Error {
        Error::IndexOutOfRange {
            idx: u64::try_from(idx).unwrap_or(u64::MAX),
            len: u64::try_from(self.len).unwrap_or(u64::MAX),
        }
    }

    /// The 16-bit window starting at the byte holding bit `pos`, with the bit offset.
    fn window(&self, pos: usize) -> (u16, u32) {
        let byte = pos >> 3;
        let hi = self.bytes.get(byte).copied().unwrap_or(0);
        let lo = self.bytes.get(byte + 1).copied().unwrap_or(0);
        (
            u16::from_be_bytes([hi, lo]),
            u32::try_from(pos & 7).unwrap_or(0),
        )
    }

    /// The status at `idx` (§3.2 step 9); past the end is a RANGE_ERROR
    /// ([`Error::IndexOutOfRange`]).
    #[inline]
    pub fn get(&self, idx: usize) -> Result<u8> {
        if idx >= self.len {
            return Err(self.out_of_range(idx));
        }
        let size = u32::from(self.status_size);
        // idx < len and len * status_size fits (checked when built), so no overflow.
        let (window, offset) = self.window(idx * self.status_size as usize);
        let mask = (1u16 << size) - 1;
        let value = (window >> (16 - offset - size)) & mask;
        Ok(u8::try_from(value).unwrap_or(u8::MAX))
    }

    /// Sets the status at `idx`; `value` must fit in `status_size` bits.
    pub fn set(&mut self, idx: usize, value: u8) -> Result<()> {
        let size = u32::from(self.status_size);
        let mask = (1u16 << size) - 1;
        if u16::from(value) > mask {
            return Err(Error::invalid(format!(
                "status {value} does not fit in {size} bits"
            )));
        }
        if idx >= self.len {
            return Err(self.out_of_range(idx));
        }
        let pos = idx * self.status_size as usize;
        let (window, offset) = self.window(pos);
        let shift = 16 - offset - size;
        let updated = (window & !(mask << shift)) | (u16::from(value) << shift);
        let [hi, lo] = updated.to_be_bytes();
        let byte = pos >> 3;
        if let Some(b) = self.bytes.get_mut(byte) {
            *b = hi;
        }
        if let Some(b) = self.bytes.get_mut(byte + 1) {
            *b = lo;
        }
        Ok(())
    }

    /// `encodedList` (§2.2, §3.3): multibase base64url without padding (prefix `u`) of
    /// the GZIP-compressed (RFC 1952) bitstring, at `level` 0-9.
    pub fn encode(&self, level: u32) -> Result<String> {
        let gz = compress::gzip(&self.bytes, level)?;
        let mut out = String::with_capacity(gz.len() * 4 / 3 + 2);
        out.push(MULTIBASE_BASE64URL);
        base64url::encode_into(&gz, &mut out);
        Ok(out)
    }

    /// Reads an `encodedList` (§3.4, Bitstring Expansion) whose entries are
    /// `status_size` bits. Inflation stops beyond `max_len` entries ([`Error::TooLarge`]);
    /// fewer than [`MIN_BITSTRING_ENTRIES`] entries is [`Error::ListTooShort`] (§3.2,
    /// STATUS_LIST_LENGTH_ERROR).
    pub fn decode(encoded: &str, status_size: u8, max_len: usize) -> Result<Self> {
        check_status_size(status_size)?;
        let b64 = encoded.strip_prefix(MULTIBASE_BASE64URL).ok_or_else(|| {
            Error::malformed("encodedList must be multibase base64url (prefix u)")
        })?;
        let gz = base64url::decode(b64)
            .map_err(|_| Error::malformed("encodedList is not base64url without padding"))?;
        let max_bytes = max_len
            .saturating_mul(usize::from(status_size))
            .div_ceil(8)
            .min(MAX_LIST_BYTES);
        let bytes = compress::gunzip(&gz, max_bytes)?;
        let len = bytes.len() * 8 / usize::from(status_size);
        if len < MIN_BITSTRING_ENTRIES {
            return Err(Error::ListTooShort {
                entries: u64::try_from(len).unwrap_or(u64::MAX),
                minimum: MIN_BITSTRING_ENTRIES as u64,
            });
        }
        Ok(Self {
            status_size,
            len,
            bytes,
        })
    }
}

/// `statusPurpose` values vdc issues and checks (§2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusPurpose {
    /// `revocation`: cancels validity; not reversible.
    Revocation,
    /// `suspension`: temporarily prevents acceptance; reversible.
    Suspension,
}

impl StatusPurpose {
    /// The JSON value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revocation => "revocation",
            Self::Suspension => "suspension",
        }
    }

    /// Reads a `statusPurpose`; other purposes (`refresh`, `message`, custom) are not
    /// supported here.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "revocation" => Ok(Self::Revocation),
            "suspension" => Ok(Self::Suspension),
            other => Err(Error::malformed(format!(
                "unsupported statusPurpose {}",
                printable(other)
            ))),
        }
    }
}

/// A `credentialStatus` entry of type `BitstringStatusListEntry` (§2.1), `statusSize` 1.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitstringStatusListEntry {
    /// `id`: optional; MUST NOT be the status list URL.
    pub id: Option<String>,
    /// `statusPurpose`.
    pub status_purpose: StatusPurpose,
    /// `statusListIndex` (a base-10 string in JSON).
    pub status_list_index: u64,
    /// `statusListCredential`: the URL of the `BitstringStatusListCredential`.
    pub status_list_credential: String,
}

impl BitstringStatusListEntry {
    /// An entry without `id`.
    pub fn new(
        status_purpose: StatusPurpose,
        status_list_index: u64,
        status_list_credential: impl Into<String>,
    ) -> Self {
        Self {
            id: None,
            status_purpose,
            status_list_index,
            status_list_credential: status_list_credential.into(),
        }
    }

    /// Sets `id` (conventionally `<statusListCredential>#<index>`).
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }

    /// The JSON object for `credentialStatus`. Fails if `id` equals the list URL (§2.1)
    /// or a URL is not absolute.
    pub fn to_value(&self) -> Result<Value> {
        let mut m = Map::new();
        if let Some(id) = &self.id {
            m.insert("id".into(), id.clone().into());
        }
        m.insert("type".into(), BITSTRING_STATUS_LIST_ENTRY.into());
        m.insert("statusPurpose".into(), self.status_purpose.as_str().into());
        // Spec: §2.1: statusListIndex "expressed as a string in base 10".
        m.insert(
            "statusListIndex".into(),
            self.status_list_index.to_string().into(),
        );
        m.insert(
            "statusListCredential".into(),
            self.status_list_credential.clone().into(),
        );
        Self::from_value(&Value::Object(m.clone())).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(Value::Object(m))
    }

    /// Reads an entry (§2.1): `type` includes `BitstringStatusListEntry`, a supported
    /// `statusPurpose`, a canonical base-10 `statusListIndex`, an absolute
    /// `statusListCredential` URL, an `id` (if any) other than that URL, and no
    /// `statusSize` other than 1.
    pub fn from_value(value: &Value) -> Result<Self> {
        let m = value
            .as_object()
            .ok_or_else(|| Error::malformed("credentialStatus entry must be an object"))?;
        let typed = match m.get("type") {
            Some(Value::String(t)) => t == BITSTRING_STATUS_LIST_ENTRY,
            Some(Value::Array(ts)) => ts.iter().any(|t| t == BITSTRING_STATUS_LIST_ENTRY),
            _ => false,
        };
        if !typed {
            return Err(Error::malformed("type must be BitstringStatusListEntry"));
        }
        let purpose = m
            .get("statusPurpose")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::malformed("statusPurpose must be a string"))?;
        let status_purpose = StatusPurpose::parse(purpose)?;
        let index = m
            .get("statusListIndex")
            .and_then(Value::as_str)
            .filter(|s| {
                !s.is_empty()
                    && s.bytes().all(|b| b.is_ascii_digit())
                    && (*s == "0" || !s.starts_with('0'))
            })
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::malformed("statusListIndex must be a base-10 non-negative integer string")
            })?;
        let list_url = m
            .get("statusListCredential")
            .and_then(Value::as_str)
            .filter(|u| is_absolute_url(u))
            .ok_or_else(|| Error::malformed("statusListCredential must be a URL"))?;
        let id = match m.get("id") {
            None => None,
            Some(Value::String(id)) if is_absolute_url(id) && id != list_url => Some(id.clone()),
            Some(_) => {
                return Err(Error::malformed(
                    "id must be a URL other than the status list URL",
                ));
            }
        };
        match m.get("statusSize") {
            None => {}
            Some(v) if v.as_u64() == Some(1) => {}
            Some(_) => return Err(Error::malformed("only statusSize 1 is supported")),
        }
        Ok(Self {
            id,
            status_purpose,
            status_list_index: index,
            status_list_credential: list_url.to_owned(),
        })
    }
}

fn is_absolute_url(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= crate::token::MAX_URI_LEN
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && url::Url::parse(s).is_ok()
}

/// The unsigned parts of a `BitstringStatusListCredential` (§2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BitstringStatusListCredential {
    /// `id`: the URL the credential is published at (= `statusListCredential`).
    pub id: String,
    /// `issuer`.
    pub issuer: String,
    /// `validFrom`.
    pub valid_from: UnixTime,
    /// `validUntil`, if any.
    pub valid_until: Option<UnixTime>,
    /// `credentialSubject.id`; `<id>#list` when `None`.
    pub subject_id: Option<String>,
    /// `credentialSubject.statusPurpose`.
    pub status_purpose: StatusPurpose,
    /// `credentialSubject.ttl` in milliseconds, if any.
    pub ttl_ms: Option<u64>,
}

impl BitstringStatusListCredential {
    /// The credential JSON (VCDM 2.0) with `encodedList` from `list` at `level`.
    pub fn to_credential(
        &self,
        list: &BitstringStatusList,
        level: u32,
    ) -> Result<Map<String, Value>> {
        let mut subject = Map::new();
        let subject_id = self
            .subject_id
            .clone()
            .unwrap_or_else(|| format!("{}#list", self.id));
        subject.insert("id".into(), subject_id.into());
        subject.insert("type".into(), BITSTRING_STATUS_LIST.into());
        subject.insert("statusPurpose".into(), self.status_purpose.as_str().into());
        subject.insert("encodedList".into(), list.encode(level)?.into());
        if let Some(ttl) = self.ttl_ms {
            subject.insert("ttl".into(), ttl.into());
        }
        let mut vc = Map::new();
        vc.insert(
            "@context".into(),
            Value::Array(vec![CREDENTIALS_V2_CONTEXT.into()]),
        );
        vc.insert("id".into(), self.id.clone().into());
        vc.insert(
            "type".into(),
            Value::Array(vec![
                "VerifiableCredential".into(),
                BITSTRING_STATUS_LIST_CREDENTIAL.into(),
            ]),
        );
        vc.insert("issuer".into(), self.issuer.clone().into());
        vc.insert(
            "validFrom".into(),
            format_date_time_stamp(self.valid_from).into(),
        );
        if let Some(until) = self.valid_until {
            vc.insert("validUntil".into(), format_date_time_stamp(until).into());
        }
        vc.insert("credentialSubject".into(), Value::Object(subject));
        vc_jose::check_data_model(&vc).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(vc)
    }

    /// The credential secured as a `vc+jwt` (§3.6; VC-JOSE-COSE §3.1.1).
    pub async fn sign(
        &self,
        list: &BitstringStatusList,
        level: u32,
        signer: &dyn Signer,
    ) -> Result<String> {
        let vc = self.to_credential(list, level)?;
        vc_jose::issue_vc_jwt(&vc, signer)
            .await
            .map_err(Error::Signing)
    }
}

/// A verified `BitstringStatusListCredential`.
#[derive(Debug, Clone)]
pub struct VerifiedBitstringStatusList {
    /// The credential `id`, if present.
    pub id: Option<String>,
    /// The issuer URL.
    pub issuer: String,
    /// `credentialSubject.statusPurpose` (one or more).
    pub status_purposes: Vec<String>,
    /// The decoded list (`statusSize` 1).
    pub list: BitstringStatusList,
    /// `validUntil`, if present.
    pub valid_until: Option<UnixTime>,
    /// `credentialSubject.ttl` in milliseconds, if present.
    pub ttl_ms: Option<u64>,
}

/// Verifies a `BitstringStatusListCredential` secured as a `vc+jwt` with `key` (chosen by
/// the caller's trust policy for the list's issuer) and decodes its list (§3.2 steps 4,
/// 6-8): signature, `typ`, VCDM 2.0 model and validity window through
/// [`vc_jose::verify_vc_jwt`]; `type` includes `BitstringStatusListCredential`;
/// `credentialSubject.type` is `BitstringStatusList`; `encodedList` inflates within
/// `max_len` entries and holds at least [`MIN_BITSTRING_ENTRIES`].
pub fn verify_bitstring_status_list_credential(
    token: &str,
    key: &PublicKey,
    policy: &AlgorithmPolicy,
    now: UnixTime,
    skew: i64,
    max_len: usize,
) -> Result<VerifiedBitstringStatusList> {
    let verified = vc_jose::verify_vc_jwt(token, key, policy, now, skew).map_err(|e| match e {
        vdc_core::Error::Malformed(m) => Error::Malformed(m),
        vdc_core::Error::TooLarge(m) => Error::TooLarge(m),
        other => Error::Verification(other),
    })?;
    let vc = &verified.credential;
    let types_ok = vc
        .get("type")
        .and_then(Value::as_array)
        .is_some_and(|ts| ts.iter().any(|t| t == BITSTRING_STATUS_LIST_CREDENTIAL));
    if !types_ok {
        return Err(Error::Verification(vdc_core::Error::VcDataModel(
            "type must include BitstringStatusListCredential".into(),
        )));
    }
    let subject = vc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .ok_or_else(|| Error::malformed("credentialSubject must be a single object"))?;
    if subject.get("type").and_then(Value::as_str) != Some(BITSTRING_STATUS_LIST) {
        return Err(Error::malformed(
            "credentialSubject.type must be BitstringStatusList",
        ));
    }
    // Spec: §2.2: statusPurpose "MUST be one or more strings".
    let status_purposes = match subject.get("statusPurpose") {
        Some(Value::String(p)) => vec![p.clone()],
        Some(Value::Array(ps)) if !ps.is_empty() => ps
            .iter()
            .map(|p| p.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| Error::malformed("statusPurpose entries must be strings"))?,
        _ => {
            return Err(Error::malformed(
                "statusPurpose must be one or more strings",
            ));
        }
    };
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| Error::malformed("encodedList must be a string"))?;
    let ttl_ms = match subject.get("ttl") {
        None => None,
        Some(v) => Some(
            v.as_u64()
                .ok_or_else(|| Error::malformed("ttl must be a non-negative integer"))?,
        ),
    };
    let list = BitstringStatusList::decode(encoded, 1, max_len)?;
    let (_, valid_until) = validity_period(vc).map_err(Error::Verification)?;
    Ok(VerifiedBitstringStatusList {
        id: vc.get("id").and_then(Value::as_str).map(str::to_owned),
        issuer: issuer_id(vc).unwrap_or_default().to_owned(),
        status_purposes,
        list,
        valid_until,
        ttl_ms,
    })
}

impl VerifiedBitstringStatusList {
    /// The status bit for `entry` (§3.2 steps 5, 9-11): the entry's purpose must be one of
    /// the list's (STATUS_VERIFICATION_ERROR otherwise), the credential's `id`, when
    /// present, must be the entry's `statusListCredential`, and the index must be in range
    /// (RANGE_ERROR). `0` means the purpose does not apply (valid, not suspended).
    pub fn status(&self, entry: &BitstringStatusListEntry) -> Result<u8> {
        let purpose = entry.status_purpose.as_str();
        if !self.status_purposes.iter().any(|p| p == purpose) {
            return Err(Error::claim(format!(
                "the status list is not for statusPurpose {purpose}"
            )));
        }
        if self
            .id
            .as_deref()
            .is_some_and(|id| id != entry.status_list_credential)
        {
            return Err(Error::claim(
                "the status list credential id is not the entry's statusListCredential",
            ));
        }
        let idx = usize::try_from(entry.status_list_index).map_err(|_| Error::IndexOutOfRange {
            idx: entry.status_list_index,
            len: u64::try_from(self.list.len()).unwrap_or(u64::MAX),
        })?;
        self.list.get(idx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vdc_core::jose::{Algorithm, LocalSigner, SigningKey};
    use vdc_core::rng::SeededRandom;

    const LIST_URL: &str = "https://example.com/credentials/status/3";
    const NOW: i64 = 1_700_000_000;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn index_zero_is_the_most_significant_bit_of_the_first_byte() {
        // Spec: §7.1 (Bitstring Encoding): index 0 is the left-most bit, index
        // length - 1 the right-most bit of the last byte.
        let mut l = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
        l.set(0, 1).unwrap();
        l.set(9, 1).unwrap();
        l.set(MIN_BITSTRING_ENTRIES - 1, 1).unwrap();
        assert_eq!(l.bytes()[0], 0b1000_0000);
        assert_eq!(l.bytes()[1], 0b0100_0000);
        assert_eq!(*l.bytes().last().unwrap(), 0b0000_0001);
        assert_eq!(l.bytes().len(), 16 * 1024);
        assert_eq!(l.get(0).unwrap(), 1);
        assert_eq!(l.get(1).unwrap(), 0);
        assert_eq!(l.get(9).unwrap(), 1);
        assert!(matches!(
            l.get(MIN_BITSTRING_ENTRIES),
            Err(Error::IndexOutOfRange { .. })
        ));
    }

    #[test]
    fn multi_bit_entries_are_read_msb_first_across_byte_boundaries() {
        for size in 1..=8u8 {
            let mut l = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, size).unwrap();
            let max = ((1u16 << size) - 1) as u8;
            for idx in [0usize, 1, 2, 3, 5, 7, 13, MIN_BITSTRING_ENTRIES - 1] {
                let v = (idx as u8).wrapping_mul(37) & max;
                l.set(idx, v).unwrap();
                assert_eq!(l.get(idx).unwrap(), v, "size {size} idx {idx}");
            }
            // Neighbours untouched.
            assert_eq!(l.get(4).unwrap(), 0);
            assert_eq!(l.get(6).unwrap(), 0);
            if size < 8 {
                assert!(matches!(l.set(0, max + 1), Err(Error::InvalidInput(_))));
            }
        }
        // statusSize 3: entry 1 spans bits 3-5 of byte 0.
        let mut l = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 3).unwrap();
        l.set(1, 0b101).unwrap();
        assert_eq!(l.bytes()[0], 0b0001_0100);
        // entry 2 spans bits 6-8: two bits in byte 0, one in byte 1.
        l.set(2, 0b111).unwrap();
        assert_eq!(&l.bytes()[..2], &[0b0001_0111, 0b1000_0000]);
    }

    #[test]
    fn short_lists_and_bad_sizes_are_refused() {
        assert!(matches!(
            BitstringStatusList::new(MIN_BITSTRING_ENTRIES - 1, 1),
            Err(Error::InvalidInput(_))
        ));
        assert!(BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 0).is_err());
        assert!(BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 9).is_err());
        // A validly encoded but too short list is STATUS_LIST_LENGTH_ERROR.
        let short = format!(
            "u{}",
            base64url::encode(compress::gzip(&[0u8; 1024], 9).unwrap())
        );
        assert!(matches!(
            BitstringStatusList::decode(&short, 1, 1 << 20),
            Err(Error::ListTooShort {
                entries: 8192,
                minimum: 131_072
            })
        ));
    }

    #[test]
    fn bitstring_status_list_section_2_2_example_encoded_list_decodes() {
        // Spec: §2.2, example "BitstringStatusListCredential": 16 KiB of zeros.
        let l = BitstringStatusList::decode(
            "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA",
            1,
            1 << 20,
        )
        .unwrap();
        assert_eq!(l.len(), MIN_BITSTRING_ENTRIES);
        assert!(l.bytes().iter().all(|&b| b == 0));
    }

    #[test]
    fn encoded_list_is_multibase_gzip_and_round_trips() {
        let mut l = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
        l.set(94567, 1).unwrap();
        let enc = l.encode(9).unwrap();
        assert!(enc.starts_with("uH4sI"), "{enc}"); // 'u' + base64url of 1f 8b 08
        assert_eq!(BitstringStatusList::decode(&enc, 1, 1 << 20).unwrap(), l);
        // Other multibase prefixes, padding, zlib instead of gzip: malformed.
        let gz_b64 = enc.strip_prefix('u').unwrap();
        for bad in [
            format!("m{gz_b64}"),
            gz_b64.to_owned(),
            format!("{enc}=="),
            format!(
                "u{}",
                base64url::encode(compress::zlib(l.bytes(), 9).unwrap())
            ),
        ] {
            assert!(matches!(
                BitstringStatusList::decode(&bad, 1, 1 << 20),
                Err(Error::Malformed(_))
            ));
        }
        // Bomb guard: a bound below the list size stops inflation.
        assert!(matches!(
            BitstringStatusList::decode(&enc, 1, MIN_BITSTRING_ENTRIES - 8),
            Err(Error::TooLarge(_))
        ));
    }

    #[test]
    fn entry_serialises_as_section_2_1_and_parses_back() {
        let e = BitstringStatusListEntry::new(StatusPurpose::Revocation, 94567, LIST_URL)
            .with_id(format!("{LIST_URL}#94567"));
        let v = e.to_value().unwrap();
        assert_eq!(
            v,
            json!({
                "id": "https://example.com/credentials/status/3#94567",
                "type": "BitstringStatusListEntry",
                "statusPurpose": "revocation",
                "statusListIndex": "94567",
                "statusListCredential": LIST_URL
            })
        );
        assert_eq!(BitstringStatusListEntry::from_value(&v).unwrap(), e);
        // The core data-model check agrees with our entry.
        let vc = json!({
            "@context": [CREDENTIALS_V2_CONTEXT],
            "type": ["VerifiableCredential"],
            "issuer": "did:example:12345",
            "credentialSubject": {"id": "did:example:6789"},
            "credentialStatus": v
        });
        vc_jose::check_data_model(vc.as_object().unwrap()).unwrap();
        // id equal to the list URL is refused when building.
        let bad =
            BitstringStatusListEntry::new(StatusPurpose::Suspension, 1, LIST_URL).with_id(LIST_URL);
        assert!(matches!(bad.to_value(), Err(Error::InvalidInput(_))));
    }

    #[test]
    fn malformed_entries_are_rejected() {
        let good = json!({
            "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
            "statusListIndex": "0", "statusListCredential": LIST_URL
        });
        assert_eq!(
            BitstringStatusListEntry::from_value(&good)
                .unwrap()
                .status_purpose,
            StatusPurpose::Suspension
        );
        let edits: Vec<(&str, Value)> = vec![
            ("type", json!("StatusList2021Entry")),
            ("statusPurpose", json!("message")),
            ("statusPurpose", json!(1)),
            ("statusListIndex", json!(5)),
            ("statusListIndex", json!("05")),
            ("statusListIndex", json!("-1")),
            ("statusListIndex", json!("99999999999999999999999")),
            ("statusListCredential", json!("not a url")),
            ("id", json!(LIST_URL)),
            ("statusSize", json!(2)),
        ];
        for (k, v) in edits {
            let mut bad = good.clone();
            bad[k] = v.clone();
            assert!(
                matches!(
                    BitstringStatusListEntry::from_value(&bad),
                    Err(Error::Malformed(_))
                ),
                "{k}: {v}"
            );
        }
    }

    fn credential() -> BitstringStatusListCredential {
        BitstringStatusListCredential {
            id: LIST_URL.into(),
            issuer: "https://issuer.example".into(),
            valid_from: UnixTime(NOW - 60),
            valid_until: Some(UnixTime(NOW + 86_400)),
            subject_id: None,
            status_purpose: StatusPurpose::Revocation,
            ttl_ms: Some(300_000),
        }
    }

    #[test]
    fn credential_is_signed_as_vc_jwt_and_verifies() {
        let signer = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(9)).unwrap(),
        );
        let mut list = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
        list.set(94567, 1).unwrap();
        let c = credential();
        let vc = c.to_credential(&list, 9).unwrap();
        assert_eq!(
            vc["type"],
            json!(["VerifiableCredential", "BitstringStatusListCredential"])
        );
        assert_eq!(
            vc["credentialSubject"]["id"],
            json!(format!("{LIST_URL}#list"))
        );
        assert_eq!(
            vc["credentialSubject"]["type"],
            json!("BitstringStatusList")
        );
        assert_eq!(vc["credentialSubject"]["ttl"], json!(300_000));
        let token = block_on(c.sign(&list, 9, &signer)).unwrap();
        let policy = AlgorithmPolicy::default();
        let key = &signer.public_jwk().key;
        let v = verify_bitstring_status_list_credential(
            &token,
            key,
            &policy,
            UnixTime(NOW),
            60,
            1 << 20,
        )
        .unwrap();
        assert_eq!(v.list, list);
        assert_eq!(v.status_purposes, ["revocation"]);
        assert_eq!(v.issuer, "https://issuer.example");
        assert_eq!(v.ttl_ms, Some(300_000));
        let revoked = BitstringStatusListEntry::new(StatusPurpose::Revocation, 94567, LIST_URL);
        assert_eq!(v.status(&revoked).unwrap(), 1);
        let fine = BitstringStatusListEntry::new(StatusPurpose::Revocation, 94566, LIST_URL);
        assert_eq!(v.status(&fine).unwrap(), 0);
        // Wrong purpose, wrong list URL, index out of range.
        let susp = BitstringStatusListEntry::new(StatusPurpose::Suspension, 94567, LIST_URL);
        assert_eq!(
            v.status(&susp).unwrap_err().kind(),
            crate::ErrorKind::Verification
        );
        let other =
            BitstringStatusListEntry::new(StatusPurpose::Revocation, 1, "https://example.com/x");
        assert_eq!(
            v.status(&other).unwrap_err().kind(),
            crate::ErrorKind::Verification
        );
        let far = BitstringStatusListEntry::new(StatusPurpose::Revocation, 1 << 40, LIST_URL);
        assert_eq!(
            v.status(&far).unwrap_err().kind(),
            crate::ErrorKind::OutOfRange
        );
        // Expired list, wrong key.
        let late = verify_bitstring_status_list_credential(
            &token,
            key,
            &policy,
            UnixTime(NOW + 86_400 + 61),
            60,
            1 << 20,
        );
        assert_eq!(late.unwrap_err().kind(), crate::ErrorKind::Verification);
        let stranger = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(10)).unwrap(),
        );
        let wrong = verify_bitstring_status_list_credential(
            &token,
            &stranger.public_jwk().key,
            &policy,
            UnixTime(NOW),
            60,
            1 << 20,
        );
        assert!(matches!(
            wrong,
            Err(Error::Verification(vdc_core::Error::InvalidSignature))
        ));
        // Bomb guard applies through the credential too.
        let small = verify_bitstring_status_list_credential(
            &token,
            key,
            &policy,
            UnixTime(NOW),
            60,
            1 << 16,
        );
        assert!(matches!(small, Err(Error::TooLarge(_))));
    }

    #[test]
    fn a_vc_that_is_not_a_status_list_is_rejected() {
        let signer = LocalSigner::new(
            SigningKey::generate(Algorithm::Es256, &SeededRandom::new(9)).unwrap(),
        );
        let list = BitstringStatusList::new(MIN_BITSTRING_ENTRIES, 1).unwrap();
        let policy = AlgorithmPolicy::default();
        let key = &signer.public_jwk().key;
        let base = credential().to_credential(&list, 6).unwrap();
        let mut cases = Vec::new();
        let mut c = base.clone();
        c["type"] = json!(["VerifiableCredential"]);
        cases.push(c);
        let mut c = base.clone();
        c["credentialSubject"]["type"] = json!("StatusList2021");
        cases.push(c);
        let mut c = base.clone();
        c["credentialSubject"]
            .as_object_mut()
            .unwrap()
            .remove("encodedList");
        cases.push(c);
        let mut c = base.clone();
        c["credentialSubject"]["statusPurpose"] = json!([]);
        cases.push(c);
        let mut c = base.clone();
        c["credentialSubject"]["ttl"] = json!(-1);
        cases.push(c);
        for c in cases {
            let token = block_on(vc_jose::issue_vc_jwt(&c, &signer)).unwrap();
            let r = verify_bitstring_status_list_credential(
                &token,
                key,
                &policy,
                UnixTime(NOW),
                60,
                1 << 20,
            );
            assert!(r.is_err(), "{c:?}");
        }
    }
}
