"""Batching: Collections of 200, setup and data objects never mixed, at most 10 type chunks."""

from __future__ import annotations

from deprovision.apply.batching import chunks, collection_batches, type_chunks


def test_chunks_of_200() -> None:
    sizes = [len(c) for c in chunks(list(range(450)))]
    assert sizes == [200, 200, 50]


def test_setup_and_data_objects_never_share_a_batch() -> None:
    items = ["PermissionSetAssignment"] * 150 + ["Account"] * 100
    batches = list(collection_batches(items, lambda t: t))
    assert [len(b) for b in batches] == [150, 100]
    assert all(len(set(b)) == 1 for b in batches)


def test_mixed_setup_types_share_a_batch_up_to_200() -> None:
    items = ["PermissionSetAssignment"] * 150 + ["GroupMember"] * 100
    batches = list(collection_batches(items, lambda t: t))
    assert [len(b) for b in batches] == [200, 50]
    assert set(batches[0]) == {"PermissionSetAssignment", "GroupMember"}


def test_no_batch_has_more_than_ten_type_chunks() -> None:
    kinds = ["GroupMember", "UserPackageLicense"]
    items = [kinds[i % 2] for i in range(60)]  # alternating: a new chunk per item
    batches = list(collection_batches(items, lambda t: t))
    assert all(type_chunks(b) <= 10 for b in batches)
    assert sum(len(b) for b in batches) == 60
    assert len(batches) == 6


def test_a_record_never_appears_twice_in_one_batch() -> None:
    # one dependant whose manager and delegated approver both leave: two updates of the same User
    items = [("User", "005A"), ("User", "005B"), ("User", "005A"), ("User", "005C")]
    batches = list(collection_batches(items, lambda i: i[0], key_of=lambda i: i[1]))
    assert batches == [[("User", "005A"), ("User", "005B")], [("User", "005A"), ("User", "005C")]]
    assert list(collection_batches(items, lambda i: i[0])) == [items]
