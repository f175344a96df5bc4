//! The one error type of the rules, with its POS status string and its `/v1` code.

use crate::card::CardState;
use crate::money::Money;

/// Everything an operation can refuse. Each variant has one POS status string
/// ([`DomainError::pos_status`]) and one stable `/v1` code ([`DomainError::code`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// Bad input: the text names the field and the problem.
    #[error("malformed request: {0}")]
    Malformed(String),
    #[error("missing, unknown or expired token")]
    InvalidToken,
    #[error("insufficient rights")]
    InsufficientRights,
    /// The database cannot be reached or stays locked beyond its timeout.
    #[error("storage unavailable")]
    StorageUnavailable,
    /// A bug or an unexpected state: logged, never detailed to the caller.
    #[error("internal error")]
    Internal(String),
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("unknown staff card")]
    UnknownStaffCard,
    #[error("too many failed attempts, retry in {retry_after_seconds} s")]
    TooManyAttempts { retry_after_seconds: u64 },
    #[error("unknown staff user")]
    UnknownUser,
    #[error("this staff user already exists")]
    UserExists,
    #[error("unknown card")]
    UnknownCard,
    #[error("this card already exists")]
    CardExists,
    #[error("the balance is zero or negative")]
    NegativeBalance,
    #[error("insufficient balance {balance}, {missing} missing")]
    InsufficientFunds { balance: Money, missing: Money },
    #[error("a top-up must be positive")]
    NegativeTopUp,
    #[error("a payment must be positive")]
    NegativePayment,
    #[error("unknown product")]
    UnknownProduct,
    #[error("unknown transaction")]
    UnknownTransaction,
    #[error("the transaction is already cancelled")]
    AlreadyCancelled,
    #[error("the transaction is already active")]
    AlreadyActive,
    #[error("the correction window of this transaction is over")]
    CorrectionWindowClosed,
    #[error("this transaction was made by another staff user")]
    NotOwnTransaction,
    #[error("the card cannot be used: {0}")]
    CardNotUsable(CardState),
    #[error("the balance {balance} would go above the card's maximum {max}")]
    BalanceCeiling { balance: Money, max: Money },
    /// The `Idempotency-Key` was used before for another request.
    #[error("this Idempotency-Key was used for another request")]
    IdempotencyKeyReused,
    /// The partner's credit reference was used before for another credit.
    #[error("this reference was used for another credit")]
    ReferenceReused,
    #[error("the credit is above the partner's cap of {cap} {period}")]
    CreditCapExceeded { cap: Money, period: CapPeriod },
    #[error("no partner has this client id")]
    UnknownPartner,
    #[error("no such category")]
    UnknownCategory,
    #[error("a category of this name exists")]
    CategoryExists,
    #[error("a product of this name exists")]
    ProductExists,
    #[error("unknown member")]
    UnknownMember,
    /// A card belongs to at most one member.
    #[error("this card belongs to another member")]
    CardLinkedToOther,
    #[error("this card is not linked to this member")]
    CardNotLinked,
    /// The card was replaced by another one: it stays in the history, unchangeable.
    #[error("this card was replaced by card {0}")]
    CardReplaced(String),
    /// A card-to-card transfer (a replacement) cannot be cancelled or redone alone: it would
    /// take money from one card without giving it back to the other. Nor can an import
    /// adjustment: it records what the old system held.
    #[error("this transaction cannot be cancelled or redone")]
    NotCorrectable,
    /// A member's invitation or reset link that is unknown, used or expired.
    #[error("this link is unknown, was already used or has expired")]
    InvalidLink,
    /// Member e-mail addresses are unique (case-insensitive): they are the members' logins.
    #[error("this e-mail address is another member's")]
    EmailTaken,
    /// A member cannot pay themself.
    #[error("a member cannot pay themself")]
    SelfTransfer,
    /// A member suspended from the exchange by a moderator.
    #[error("this member is suspended from the exchange")]
    MemberSuspended,
    /// `exchange.enabled` is false.
    #[error("the members' exchange is switched off")]
    ExchangeDisabled,
    /// A transfer's card (the payer's or the payee's) cannot be used: blocked, lost, expired,
    /// or none at all.
    #[error("the card cannot be used for a transfer: {0}")]
    CardBlocked(CardState),
    #[error("unknown offer")]
    UnknownOffer,
    /// An offer that is closed cannot change.
    #[error("this offer is closed")]
    OfferClosed,
    /// Unknown, or not one of the caller's: the same answer, so ids cannot be probed.
    #[error("unknown conversation")]
    UnknownConversation,
    #[error("unknown message")]
    UnknownMessage,
    #[error("unknown transfer")]
    UnknownTransfer,
    /// A business card that does not exist, or is not the caller's (seed 003's
    /// `CARD_ID_NOT_FOUND_ERROR`), or a language version it does not have.
    #[error("unknown business card or language")]
    UnknownBusinessCard,
    /// A member has at most one business card.
    #[error("this member already has a business card")]
    BusinessCardExists,
    /// A partner created as many business cards as it may (`partners.business_cards`).
    #[error("the partner's limit of business cards is reached")]
    ProfileLimitReached,
    #[error("no voucher has this code")]
    UnknownVoucher,
    /// A voucher is used once: `at` when and `by` whom (the staff login or partner), and the
    /// card it went to, if any.
    #[error("this voucher was already used at {at} by {by}")]
    VoucherAlreadyUsed {
        at: chrono::DateTime<chrono::Utc>,
        by: String,
        card: Option<String>,
    },
    #[error("this voucher has expired")]
    VoucherExpired,
    /// A partner's debit needs a live mandate of the card's member to that partner.
    #[error("no live mandate of the card's member allows this partner to debit it")]
    MandateRequired,
    /// A debit above a mandate's cap; `remaining` is what the mandate still allows (per
    /// operation: the cap itself; per day: what is left of today's).
    #[error("the debit is above the mandate's cap {period}: {remaining} remaining")]
    CapExceeded { remaining: Money, period: CapPeriod },
    #[error("no such mandate")]
    UnknownMandate,
    #[error("no such debit")]
    UnknownDebit,
    #[error("this debit was already refunded")]
    AlreadyRefunded,
    #[error("the refund window of this debit is over")]
    RefundWindowClosed,
    /// A service of seed 002's `/Services` that this server does not provide yet.
    #[error("this service is not available on this server")]
    ServiceNotAvailable,
    /// A notification on a channel that `[notify]` does not configure.
    #[error("the {0} channel is not configured on this server")]
    ChannelNotConfigured(&'static str),
    #[error("no such notification")]
    UnknownNotification,
}

/// Which credit cap of a partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CapPeriod {
    Operation,
    Day,
}

impl std::fmt::Display for CapPeriod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CapPeriod::Operation => "per operation",
            CapPeriod::Day => "per day",
        })
    }
}

impl DomainError {
    /// The status string of the POS dialect (seed 001's spelling).
    pub fn pos_status(&self) -> &'static str {
        use DomainError::*;
        match self {
            Malformed(_) => "requete_malforme",
            InvalidToken => "jeton_invalide",
            InsufficientRights => "droits_insuffisants",
            StorageUnavailable => "erreur_bdd",
            Internal(_) => "erreur_generique",
            InvalidCredentials => "identifiants_invalides",
            UnknownStaffCard => "carte_inconnue",
            TooManyAttempts { .. } => "trop_de_tentatives",
            UnknownUser => "utilisateur_inconnu",
            UserExists => "utilisateur_existant",
            UnknownCard => "client_inconnu",
            CardExists => "client_existant",
            NegativeBalance => "solde_negatif",
            InsufficientFunds { .. } => "solde_insuffisant",
            NegativeTopUp => "rechargement_negatif",
            NegativePayment => "paiement_negatif",
            UnknownProduct => "produit_inconnu",
            UnknownTransaction => "transaction_inconnue",
            AlreadyCancelled => "transactions_deja_annulee",
            AlreadyActive => "transactions_deja_active",
            CorrectionWindowClosed => "transaction_expiree",
            NotOwnTransaction => "transaction_autre",
            CardNotUsable(_) => "carte_bloquee",
            BalanceCeiling { .. } => "solde_maximum",
            IdempotencyKeyReused => "cle_idempotence_reutilisee",
            ReferenceReused => "reference_reutilisee",
            CreditCapExceeded { .. } => "plafond_credit_depasse",
            UnknownPartner => "partenaire_inconnu",
            UnknownCategory => "categorie_inconnue",
            CategoryExists => "categorie_existante",
            ProductExists => "produit_existant",
            UnknownMember => "membre_inconnu",
            CardLinkedToOther => "carte_deja_liee",
            CardNotLinked => "carte_non_liee",
            CardReplaced(_) => "carte_remplacee",
            NotCorrectable => "transaction_non_corrigeable",
            InvalidLink => "lien_invalide",
            EmailTaken => "email_deja_utilise",
            SelfTransfer => "virement_a_soi_meme",
            MemberSuspended => "membre_suspendu",
            ExchangeDisabled => "echange_desactive",
            CardBlocked(_) => "virement_carte_bloquee",
            UnknownOffer => "offre_inconnue",
            OfferClosed => "offre_fermee",
            UnknownConversation => "conversation_inconnue",
            UnknownMessage => "message_inconnu",
            UnknownTransfer => "virement_inconnu",
            UnknownBusinessCard => "carte_de_visite_inconnue",
            BusinessCardExists => "carte_de_visite_existante",
            ProfileLimitReached => "limite_profils_atteinte",
            UnknownVoucher => "bon_inconnu",
            VoucherAlreadyUsed { .. } => "bon_deja_utilise",
            VoucherExpired => "bon_expire",
            MandateRequired => "mandat_requis",
            CapExceeded { .. } => "plafond_depasse",
            UnknownMandate => "mandat_inconnu",
            UnknownDebit => "debit_inconnu",
            AlreadyRefunded => "debit_deja_rembourse",
            RefundWindowClosed => "remboursement_expire",
            ServiceNotAvailable => "service_indisponible",
            ChannelNotConfigured(_) => "canal_non_configure",
            UnknownNotification => "notification_inconnue",
        }
    }

    /// The stable `/v1` error code.
    pub fn code(&self) -> &'static str {
        use DomainError::*;
        match self {
            Malformed(_) => "VALIDATION_ERROR",
            InvalidToken => "INVALID_TOKEN_ERROR",
            InsufficientRights => "INSUFFICIENT_RIGHTS_ERROR",
            StorageUnavailable => "STORAGE_UNAVAILABLE_ERROR",
            Internal(_) => "9999",
            InvalidCredentials => "INVALID_CREDENTIALS_ERROR",
            UnknownStaffCard => "STAFF_CARD_NOT_FOUND_ERROR",
            TooManyAttempts { .. } => "TOO_MANY_ATTEMPTS_ERROR",
            UnknownUser => "USER_NOT_FOUND_ERROR",
            UserExists => "USER_EXISTS_ERROR",
            UnknownCard => "CARD_NOT_FOUND_ERROR",
            CardExists => "CARD_EXISTS_ERROR",
            NegativeBalance => "NON_POSITIVE_BALANCE_ERROR",
            InsufficientFunds { .. } => "INSUFFICIENT_FUNDS_ERROR",
            NegativeTopUp => "NON_POSITIVE_TOPUP_ERROR",
            NegativePayment => "NON_POSITIVE_PAYMENT_ERROR",
            UnknownProduct => "PRODUCT_NOT_FOUND_ERROR",
            UnknownTransaction => "TRANSACTION_NOT_FOUND_ERROR",
            AlreadyCancelled => "TRANSACTION_ALREADY_CANCELLED_ERROR",
            AlreadyActive => "TRANSACTION_ALREADY_ACTIVE_ERROR",
            CorrectionWindowClosed => "CORRECTION_WINDOW_CLOSED_ERROR",
            NotOwnTransaction => "NOT_OWN_TRANSACTION_ERROR",
            CardNotUsable(_) => "CARD_NOT_USABLE_ERROR",
            BalanceCeiling { .. } => "BALANCE_CEILING_ERROR",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED_ERROR",
            ReferenceReused => "REFERENCE_REUSED_ERROR",
            CreditCapExceeded { .. } => "CREDIT_CAP_EXCEEDED_ERROR",
            UnknownPartner => "PARTNER_NOT_FOUND_ERROR",
            UnknownCategory => "CATEGORY_NOT_FOUND_ERROR",
            CategoryExists => "CATEGORY_EXISTS_ERROR",
            ProductExists => "PRODUCT_EXISTS_ERROR",
            UnknownMember => "MEMBER_NOT_FOUND_ERROR",
            CardLinkedToOther => "CARD_ALREADY_LINKED_ERROR",
            CardNotLinked => "CARD_NOT_LINKED_ERROR",
            CardReplaced(_) => "CARD_REPLACED_ERROR",
            NotCorrectable => "TRANSACTION_NOT_CORRECTABLE_ERROR",
            InvalidLink => "INVALID_LINK_ERROR",
            EmailTaken => "EMAIL_TAKEN_ERROR",
            SelfTransfer => "SELF_TRANSFER_ERROR",
            MemberSuspended => "MEMBER_SUSPENDED_ERROR",
            ExchangeDisabled => "EXCHANGE_DISABLED_ERROR",
            CardBlocked(_) => "CARD_BLOCKED_ERROR",
            UnknownOffer => "OFFER_NOT_FOUND_ERROR",
            OfferClosed => "OFFER_CLOSED_ERROR",
            UnknownConversation => "CONVERSATION_NOT_FOUND_ERROR",
            UnknownMessage => "MESSAGE_NOT_FOUND_ERROR",
            UnknownTransfer => "TRANSFER_NOT_FOUND_ERROR",
            UnknownBusinessCard => "CARD_ID_NOT_FOUND_ERROR",
            BusinessCardExists => "BUSINESS_CARD_EXISTS_ERROR",
            ProfileLimitReached => "PROFILE_LIMIT_REACHED_ERROR",
            UnknownVoucher => "VOUCHER_NOT_FOUND_ERROR",
            VoucherAlreadyUsed { .. } => "VOUCHER_ALREADY_USED_ERROR",
            VoucherExpired => "VOUCHER_EXPIRED_ERROR",
            MandateRequired => "MANDATE_REQUIRED_ERROR",
            CapExceeded { .. } => "CAP_EXCEEDED_ERROR",
            UnknownMandate => "MANDATE_NOT_FOUND_ERROR",
            UnknownDebit => "DEBIT_NOT_FOUND_ERROR",
            AlreadyRefunded => "DEBIT_ALREADY_REFUNDED_ERROR",
            RefundWindowClosed => "REFUND_WINDOW_CLOSED_ERROR",
            ServiceNotAvailable => "SERVICE_NOT_AVAILABLE_ERROR",
            ChannelNotConfigured(_) => "CHANNEL_NOT_CONFIGURED_ERROR",
            UnknownNotification => "NOTIFICATION_NOT_FOUND_ERROR",
        }
    }

    /// A malformed-request error naming what is wrong.
    pub fn malformed(what: impl Into<String>) -> DomainError {
        DomainError::Malformed(what.into())
    }

    /// The refusal of a write that would leave the bar without an active president (rights
    /// 3): nobody could manage staff accounts any more.
    pub fn last_president() -> DomainError {
        DomainError::malformed("the last president cannot be demoted or deleted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn all() -> Vec<DomainError> {
        use DomainError::*;
        vec![
            Malformed("x".into()),
            InvalidToken,
            InsufficientRights,
            StorageUnavailable,
            Internal("x".into()),
            InvalidCredentials,
            UnknownStaffCard,
            TooManyAttempts {
                retry_after_seconds: 1,
            },
            UnknownUser,
            UserExists,
            UnknownCard,
            CardExists,
            NegativeBalance,
            InsufficientFunds {
                balance: Money::ZERO,
                missing: Money::ZERO,
            },
            NegativeTopUp,
            NegativePayment,
            UnknownProduct,
            UnknownTransaction,
            AlreadyCancelled,
            AlreadyActive,
            CorrectionWindowClosed,
            NotOwnTransaction,
            CardNotUsable(CardState::Blocked),
            BalanceCeiling {
                balance: Money::ZERO,
                max: Money::ZERO,
            },
            IdempotencyKeyReused,
            ReferenceReused,
            CreditCapExceeded {
                cap: Money::ZERO,
                period: CapPeriod::Day,
            },
            UnknownPartner,
            UnknownCategory,
            CategoryExists,
            ProductExists,
            UnknownMember,
            CardLinkedToOther,
            CardNotLinked,
            CardReplaced("x".into()),
            NotCorrectable,
            InvalidLink,
            EmailTaken,
            SelfTransfer,
            MemberSuspended,
            ExchangeDisabled,
            CardBlocked(CardState::Blocked),
            UnknownOffer,
            OfferClosed,
            UnknownConversation,
            UnknownMessage,
            UnknownTransfer,
            UnknownBusinessCard,
            BusinessCardExists,
            ProfileLimitReached,
            UnknownVoucher,
            VoucherAlreadyUsed {
                at: chrono::DateTime::UNIX_EPOCH,
                by: "x".into(),
                card: None,
            },
            VoucherExpired,
            MandateRequired,
            CapExceeded {
                remaining: Money::ZERO,
                period: CapPeriod::Day,
            },
            UnknownMandate,
            UnknownDebit,
            AlreadyRefunded,
            RefundWindowClosed,
            ServiceNotAvailable,
            ChannelNotConfigured("sms"),
            UnknownNotification,
        ]
    }

    #[test]
    fn statuses_and_codes_are_one_to_one() {
        let errors = all();
        let statuses: HashSet<_> = errors.iter().map(|e| e.pos_status()).collect();
        let codes: HashSet<_> = errors.iter().map(|e| e.code()).collect();
        assert_eq!(statuses.len(), errors.len());
        assert_eq!(codes.len(), errors.len());
    }

    #[test]
    fn seed_spellings() {
        assert_eq!(
            DomainError::AlreadyCancelled.pos_status(),
            "transactions_deja_annulee"
        );
        assert_eq!(
            DomainError::AlreadyActive.pos_status(),
            "transactions_deja_active"
        );
        assert_eq!(DomainError::malformed("x").pos_status(), "requete_malforme");
        assert_eq!(DomainError::UnknownCard.code(), "CARD_NOT_FOUND_ERROR");
    }
}
