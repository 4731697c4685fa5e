import { Empty } from '../components/ui';
import { Link } from '../lib/router';

export function NotFound() {
  return (
    <Empty title="Nothing here" action={<Link href="/" className="font-semibold text-indigo-700 hover:underline">Back to your sites</Link>}>
      This address is not a page of the dashboard.
    </Empty>
  );
}
