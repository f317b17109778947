"""The PynamoDB models and infra/template.yaml describe the same tables: keys, indexes, TTL."""
from __future__ import annotations

import pytest
from cfnlint.decode import decode_str
from pynamodb.attributes import TTLAttribute

from chalicelib.store import catalogue
from chalicelib.store.models import MODELS
from local import stack

LOGICAL_IDS = {table.name: table.logical_id for table in catalogue.TABLES}
BY_NAME = {model.__name__: model for model in MODELS}


@pytest.fixture(scope="module")
def resources():
    template, errors = decode_str(stack.TEMPLATE_PATH.read_text())
    assert not errors
    return template["Resources"], template["Outputs"]


def test_every_table_has_a_model_a_resource_and_an_output(resources):
    assert {model.Meta.table for model in MODELS} == set(LOGICAL_IDS) == set(catalogue.TABLE_ENV)
    assert set(LOGICAL_IDS.values()) <= set(resources[0])
    assert {table.output for table in catalogue.TABLES} <= set(resources[1])
    assert set(stack.OUTPUT_ENV.values()) >= set(catalogue.TABLE_ENV.values())


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_keys_indexes_and_ttl_agree(resources, name):
    model = BY_NAME[name]
    props = resources[0][LOGICAL_IDS[model.Meta.table]]["Properties"]
    schema = model._get_schema()
    assert sorted((k["AttributeName"], k["KeyType"]) for k in props["KeySchema"]) == sorted(
        (k["AttributeName"], k["KeyType"]) for k in schema["key_schema"])
    declared_types = {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]}
    assert declared_types == {d["AttributeName"]: d["AttributeType"] for d in schema["attribute_definitions"]}
    template_indexes = {i["IndexName"]: sorted((k["AttributeName"], k["KeyType"]) for k in i["KeySchema"])
                        for i in props.get("GlobalSecondaryIndexes", [])}
    model_indexes = {i["index_name"]: sorted((k["AttributeName"], k["KeyType"]) for k in i["key_schema"])
                     for i in schema["global_secondary_indexes"]}
    assert template_indexes == model_indexes
    ttl_attributes = [a.attr_name for a in model.get_attributes().values() if isinstance(a, TTLAttribute)]
    if ttl_attributes:
        assert props["TimeToLiveSpecification"] == {"AttributeName": ttl_attributes[0], "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props
