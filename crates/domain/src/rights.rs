//! Staff rights levels and the table of what each operation needs (seed "Types d'utilisateur").

use crate::ids::{Login, MemberId};

/// A staff user's rights, from 0 (none) to 3 (everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rights {
    /// 0: a decoy account with no rights at all; the default.
    Honeypot = 0,
    /// 1: the students' association: may create cards and read card info.
    Association = 1,
    /// 2: a bar member: everything except staff accounts and overdraft settings.
    BarMember = 2,
    /// 3: the bar's president: everything.
    President = 3,
}

impl Rights {
    /// The level from its number, or `None` outside 0..=3.
    pub fn from_level(level: i64) -> Option<Rights> {
        match level {
            0 => Some(Rights::Honeypot),
            1 => Some(Rights::Association),
            2 => Some(Rights::BarMember),
            3 => Some(Rights::President),
            _ => None,
        }
    }

    /// The level's number.
    pub fn level(self) -> i16 {
        self as i16
    }
}

/// Every operation whose access depends on rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreateCard,
    CreateCardWithOverdraft,
    TopUp,
    Pay,
    Drain,
    ListCards,
    CardDetails,
    SeeOverdraft,
    SetOverdraft,
    CardInfo,
    Cancel,
    Redo,
    CorrectOthersAnyTime,
    AllTransactions,
    Statistics,
    ManageStaff,
    ManageCards,
    ManageProducts,
    /// Reading the products and their categories.
    ReadCatalog,
    /// Registering and changing OAuth2 partners.
    ManagePartners,
    /// Create, read, edit members and link their cards.
    ManageMembers,
    /// Block a card or mark it lost (a safety action: it never moves money).
    BlockCard,
    /// Make a blocked or lost card usable again.
    UnblockCard,
    /// Replace a card by a new one, moving its balance.
    ReplaceCard,
    /// Set or clear a card's end of validity.
    SetCardValidity,
    /// Read a card's balance and state after a scan at the till (web spec: rights 1 may open
    /// cards and read balances there).
    ReadBalance,
    /// Read the transactions one wrote oneself (the till's recent list).
    OwnTransactions,
    /// Read the members' exchange offers.
    ReadExchange,
    /// Moderate the members' exchange: close offers, read reported conversations, hide
    /// messages, suspend members, cancel transfers.
    ModerateExchange,
    /// Issue QR vouchers (coupons, tickets).
    IssueVouchers,
    /// Read a voucher and redeem it at the till.
    RedeemVoucher,
    /// Grant or revoke a mandate on a member's behalf.
    ManageMandates,
    /// Send notifications and advertisements to members (as a provider does).
    SendNotifications,
}

impl Operation {
    /// The least rights the operation needs.
    pub fn required_rights(self) -> Rights {
        use Operation::*;
        match self {
            CreateCard | CardInfo | ReadCatalog | ManageMembers | BlockCard | ReadBalance
            | OwnTransactions | ReadExchange => Rights::Association,
            TopUp | Pay | Drain | ListCards | CardDetails | Cancel | Redo | Statistics
            | UnblockCard | ReplaceCard | SetCardValidity | RedeemVoucher => Rights::BarMember,
            CreateCardWithOverdraft
            | SeeOverdraft
            | SetOverdraft
            | CorrectOthersAnyTime
            | AllTransactions
            | ManageStaff
            | ManageCards
            | ManageProducts
            | ManagePartners
            | ModerateExchange
            | IssueVouchers
            | ManageMandates
            | SendNotifications => Rights::President,
        }
    }
}

/// Who asks: a logged-in staff user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub login: Login,
    pub rights: Rights,
}

impl Actor {
    /// The operator at the server's command line (`ardoise user add`…), who holds every right
    /// and appears as `ardoise` in the history.
    pub fn operator() -> Actor {
        Actor {
            login: Login::known("ardoise"),
            rights: Rights::President,
        }
    }

    /// Whether the actor may perform the operation.
    pub fn may(&self, operation: Operation) -> bool {
        self.rights >= operation.required_rights()
    }

    /// `Ok` if the actor may perform the operation, else `InsufficientRights`.
    pub fn check(&self, operation: Operation) -> Result<(), crate::DomainError> {
        if self.may(operation) {
            Ok(())
        } else {
            Err(crate::DomainError::InsufficientRights)
        }
    }

    /// Staff accounts: anyone may act on their own; only presidents on others'.
    pub fn check_account(&self, target: &Login) -> Result<(), crate::DomainError> {
        if &self.login == target {
            Ok(())
        } else {
            self.check(Operation::ManageStaff)
        }
    }
}

/// Who calls a use case. Staff act through their [`Actor`] and its rights; a member acts in
/// their own space only; a partner through its token's scopes. The use cases of a member's
/// own space take this and call [`Principal::own_member`]: the one place where a member is
/// told apart from everyone else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Staff(Actor),
    /// A logged-in member: opens that member's own resources, nothing else.
    Member(MemberId),
    /// A partner, by client id.
    Partner(String),
}

impl Principal {
    /// The member whose own resources this principal opens: a member, themself; staff and
    /// partners none (`InsufficientRights`: staff have their own routes).
    pub fn own_member(&self) -> Result<MemberId, crate::DomainError> {
        match self {
            Principal::Member(id) => Ok(*id),
            Principal::Staff(_) | Principal::Partner(_) => {
                Err(crate::DomainError::InsufficientRights)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(rights: Rights) -> Actor {
        Actor {
            login: Login::parse("x").unwrap(),
            rights,
        }
    }

    #[test]
    fn levels_round_trip_and_refuse_out_of_range() {
        for l in 0..=3 {
            assert_eq!(i64::from(Rights::from_level(l).unwrap().level()), l);
        }
        assert_eq!(Rights::from_level(4), None);
        assert_eq!(Rights::from_level(-1), None);
    }

    #[test]
    fn the_rights_table_of_the_seed() {
        use Operation::*;
        let table = [
            (CreateCard, 1),
            (CardInfo, 1),
            (CreateCardWithOverdraft, 3),
            (TopUp, 2),
            (Pay, 2),
            (Drain, 2),
            (ListCards, 2),
            (CardDetails, 2),
            (Cancel, 2),
            (Redo, 2),
            (Statistics, 2),
            (SeeOverdraft, 3),
            (SetOverdraft, 3),
            (CorrectOthersAnyTime, 3),
            (AllTransactions, 3),
            (ManageStaff, 3),
            (ManageCards, 3),
            (ManageProducts, 3),
            (ManageMembers, 1),
            (BlockCard, 1),
            (UnblockCard, 2),
            (ReplaceCard, 2),
            (SetCardValidity, 2),
            (ReadBalance, 1),
            (OwnTransactions, 1),
            (ReadExchange, 1),
            (ModerateExchange, 3),
        ];
        for (op, needed) in table {
            for level in 0..=3 {
                let a = actor(Rights::from_level(level).unwrap());
                assert_eq!(a.may(op), level >= needed, "{op:?} at {level}");
                assert_eq!(a.check(op).is_ok(), level >= needed);
            }
        }
    }

    #[test]
    fn only_a_member_opens_a_members_own_space() {
        assert_eq!(Principal::Member(MemberId(7)).own_member(), Ok(MemberId(7)));
        assert_eq!(
            Principal::Staff(actor(Rights::President)).own_member(),
            Err(crate::DomainError::InsufficientRights)
        );
        assert_eq!(
            Principal::Partner("p".into()).own_member(),
            Err(crate::DomainError::InsufficientRights)
        );
    }

    #[test]
    fn own_account_always_others_only_for_presidents() {
        let me = actor(Rights::Honeypot);
        assert!(me.check_account(&Login::parse("x").unwrap()).is_ok());
        assert_eq!(
            me.check_account(&Login::parse("y").unwrap()),
            Err(crate::DomainError::InsufficientRights)
        );
        assert!(actor(Rights::President)
            .check_account(&Login::parse("y").unwrap())
            .is_ok());
    }
}
