import { t } from "../../i18n";
import { PageHeader } from "../../components/PageHeader";
import { useDocumentTitle } from "../../components/useDocumentTitle";
import { ApiKeysSection } from "../keys/ApiKeysSection";
import { WebhooksSection } from "../webhooks/WebhooksSection";
import { DeleteAccountSection } from "./DeleteAccountSection";
import { PasswordSection } from "./PasswordSection";
import { SessionsSection } from "./SessionsSection";
import { ThemeSection } from "./ThemeSection";

export default function SettingsPage() {
  useDocumentTitle(t.settings.title);
  return (
    <section className="page" aria-labelledby="settings-title">
      <PageHeader title={<span id="settings-title">{t.settings.title}</span>} />
      <div className="page__body">
        <ThemeSection />
        <PasswordSection />
        <SessionsSection />
        <ApiKeysSection />
        <WebhooksSection />
        <DeleteAccountSection />
      </div>
    </section>
  );
}
