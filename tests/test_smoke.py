"""The pages a newcomer opens first answer."""

import pytest


@pytest.mark.django_db
def test_join_page_and_api_docs_are_served(client):
    assert client.get("/join/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"https://" not in docs.content.split(b"<body")[0]


def test_partner_dashboard_for_owner(world, login_as):
    response = login_as("a:owner").get("/cabinet/")
    assert response.status_code == 200
    assert "ООО «Альфа»" in response.content.decode()
